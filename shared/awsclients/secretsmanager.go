package awsclients

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// SecretString reads a Secrets Manager secret's current string value, once at init: the
// deployment secret behind PIN hashes is read this way and kept in memory.
func SecretString(ctx context.Context, cfg aws.Config, secretID string) (string, error) {
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
