// Package handlers has the Lambda handler constructor of every function. A function's main
// calls only its own; the local gateway keeps the table of all of them by logical id
// (local/gateway.ByLogicalID), so what runs locally is what runs in AWS.
package handlers
