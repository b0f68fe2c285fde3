// Command seed loads agents and teams from a seed file into the table, locally or in AWS:
//
//	go run ./local/cmd/seed -table <TableName output of sam deploy> [-file local/seed.json]
//	go run ./local/cmd/seed -table invite-forward-local -endpoint http://127.0.0.1:8000
//
// Without -endpoint it uses the ordinary AWS configuration (profile, region, credentials,
// AWS_ENDPOINT_URL_DYNAMODB). Seeding the same file again converges. `make dev` seeds its own
// table at start and does not need this command.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/invite-forward/invite-forward/local/devdata"
	"github.com/invite-forward/invite-forward/shared/awsclients"
	"github.com/invite-forward/invite-forward/shared/awsconfig"
	"github.com/invite-forward/invite-forward/shared/store"
)

func main() {
	file := flag.String("file", "local/seed.json", "seed file (agents and teams, the format of directory.ParseSeed)")
	table := flag.String("table", os.Getenv("TABLE_NAME"), "table to load (default $TABLE_NAME)")
	endpoint := flag.String("endpoint", "", "DynamoDB endpoint, e.g. http://127.0.0.1:8000 for DynamoDB Local (default: AWS)")
	flag.Parse()
	if *table == "" {
		fmt.Fprintln(os.Stderr, "seed: -table is required")
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *file, *table, *endpoint); err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, file, table, endpoint string) error {
	db, err := client(ctx, endpoint)
	if err != nil {
		return err
	}
	seed, err := devdata.LoadSeedFile(ctx, store.New(db, table), file)
	if err != nil {
		return err
	}
	fmt.Printf("seeded %s: %d agents, %d teams\n", table, len(seed.Agents), len(seed.Teams))
	return nil
}

// client talks to AWS with the ordinary configuration, or to a local endpoint with dummy
// credentials (local emulators accept any).
func client(ctx context.Context, endpoint string) (*dynamodb.Client, error) {
	if endpoint != "" {
		region := os.Getenv("AWS_REGION")
		if region == "" {
			region = "us-east-1"
		}
		return awsclients.DynamoDBAt(awsconfig.Static(region), endpoint), nil
	}
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		return nil, err
	}
	return awsclients.DynamoDB(cfg), nil
}
