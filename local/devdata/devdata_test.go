package devdata_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/invite-forward/invite-forward/local/devdata"
	"github.com/invite-forward/invite-forward/shared/samtemplate"
	"github.com/invite-forward/invite-forward/shared/store"
	"github.com/invite-forward/invite-forward/shared/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestDemoSeed_LoadsAndConverges: local/seed.json is valid, loads every agent and team, and
// loading it again changes nothing.
func TestDemoSeed_LoadsAndConverges(t *testing.T) {
	ctx := context.Background()
	path, err := samtemplate.FindRepoFile("local/seed.json")
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(testenv.DynamoDB(t), testenv.NewTable(t))
	for range 2 {
		if _, err := devdata.LoadSeedFile(ctx, st, path); err != nil {
			t.Fatal(err)
		}
	}
	agents, err := st.Agents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	teams, err := st.Teams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(agents) != 5 || len(teams) != 2 {
		t.Errorf("seeded %d agents, %d teams; want 5 and 2", len(agents), len(teams))
	}
	support, err := st.Team(ctx, "support")
	if err != nil || len(support.Members) == 0 {
		t.Errorf("team support (the default team): %+v %v", support, err)
	}
}

// TestCreateTable_FromTemplateAndIdempotent: the table is created as the template declares
// it, and creating it again is not an error (make dev restarts, the seed command reruns).
func TestCreateTable_FromTemplateAndIdempotent(t *testing.T) {
	ctx := context.Background()
	tmpl, err := samtemplate.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	name := testenv.NewTable(t) // exists already: CreateTable must accept that
	if err := devdata.CreateTable(ctx, testenv.DynamoDB(t), tmpl, name); err != nil {
		t.Fatalf("CreateTable on an existing table: %v", err)
	}
	fresh := name + "-dev"
	if err := devdata.CreateTable(ctx, testenv.DynamoDB(t), tmpl, fresh); err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	t.Cleanup(func() {
		_, _ = testenv.DynamoDB(t).DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &fresh})
	})
	st := store.New(testenv.DynamoDB(t), fresh)
	if _, err := st.Agents(ctx); err != nil {
		t.Errorf("the created table has no gsi1: %v", err)
	}
}
