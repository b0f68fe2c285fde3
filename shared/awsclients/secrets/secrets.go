// Package secrets reads Secrets Manager, apart from package awsclients so that only the
// functions that need the deployment secret link the service.
package secrets

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// String reads a Secrets Manager secret's current string value, once at init: the
// deployment secret behind PIN hashes is read this way and kept in memory.
func String(ctx context.Context, cfg aws.Config, secretID string) (string, error) {
	out, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId: aws.String(secretID),
	})
	if err != nil {
		return "", fmt.Errorf("read secret %s: %w", secretID, err)
	}
	if out.SecretString == nil || *out.SecretString == "" {
		return "", errors.New("read secret " + secretID + ": it has no string value")
	}
	return *out.SecretString, nil
}
