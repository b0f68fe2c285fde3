// Package devdata prepares a table for local development: it creates the table exactly as
// template.yaml declares it and loads the directory of agents and teams from a seed file
// (the format of directory.ParseSeed) through the store's own writes. `make dev` and the
// seed command use it; the seed command also runs it against a deployed table.
package devdata

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/invite-forward/invite-forward/shared/directory"
	"github.com/invite-forward/invite-forward/shared/samtemplate"
	"github.com/invite-forward/invite-forward/shared/store"
)

// CreateTable creates the template's table under name, waits until it is active and enables
// its TTL attribute. A table that already exists is left as it is.
func CreateTable(ctx context.Context, db *dynamodb.Client, tmpl *samtemplate.Template, name string) error {
	in, ttl, err := tmpl.TableInput(name)
	if err != nil {
		return err
	}
	if _, err := db.CreateTable(ctx, in); err != nil {
		var inUse *types.ResourceInUseException
		if errors.As(err, &inUse) {
			return nil
		}
		return fmt.Errorf("create table %s: %w", name, err)
	}
	waiter := dynamodb.NewTableExistsWaiter(db, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 50 * time.Millisecond
	})
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 30*time.Second); err != nil {
		return fmt.Errorf("wait for table %s: %w", name, err)
	}
	if ttl == "" {
		return nil
	}
	_, err = db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(ttl), Enabled: aws.Bool(true)},
	})
	if err != nil {
		return fmt.Errorf("enable TTL on %s: %w", name, err)
	}
	return nil
}

// LoadSeedFile reads a seed file, checks it with directory.ParseSeed and writes every agent,
// then every team (members must exist first). Writing the same file again converges: agents
// and teams are replaced, members no longer listed are removed.
func LoadSeedFile(ctx context.Context, st *store.Store, path string) (directory.Seed, error) {
	f, err := os.Open(path)
	if err != nil {
		return directory.Seed{}, err
	}
	defer f.Close()
	seed, err := directory.ParseSeed(f)
	if err != nil {
		return directory.Seed{}, fmt.Errorf("%s: %w", path, err)
	}
	for _, a := range seed.Agents {
		if err := st.PutAgent(ctx, a); err != nil {
			return seed, fmt.Errorf("agent %s: %w", a.ID, err)
		}
	}
	for _, t := range seed.Teams {
		if err := st.PutTeam(ctx, t); err != nil {
			return seed, fmt.Errorf("team %s: %w", t.ID, err)
		}
	}
	return seed, nil
}
