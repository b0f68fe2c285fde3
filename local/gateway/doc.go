// Package gateway is the local stand-in for API Gateway that `make dev` runs: it serves the
// HTTP API and the WebSocket API that template.yaml declares by invoking the same handler
// constructors the Lambda mains call (shared/handlers, listed by logical id in ByLogicalID),
// with real API Gateway event shapes passed through JSON exactly as the Lambda runtime does.
//
// What it owns:
//   - the HTTP API: routes, path parameters, the Lambda authorizer of payload 2.0 with its
//     context in requestContext.authorizer.lambda, CORS as the template's CorsConfiguration,
//     API Gateway's own 403/404/413/500 answers;
//   - the WebSocket API: real connections, the $connect REQUEST authorizer, $connect,
//     $default (and other route keys) and $disconnect, idle and lifetime limits;
//   - the @connections management endpoint (POST, GET, DELETE) that the real
//     apigatewaymanagementapi client calls, with GoneException for unknown connections;
//   - a development identity provider: a signing key published as JWKS and a token endpoint,
//     both under /_dev/, which exist only here and never in the template;
//   - POST /_dev/ses-events: one SES event record, handed to EmailDeliveryFunction wrapped as
//     the SNS event Lambda receives (the SES emulator publishes no notifications);
//   - the demo page, served from a directory at /demo/.
//
// Routes come from the template; a new function needs only its line in ByLogicalID. Nothing in
// this package is deployed.
package gateway
