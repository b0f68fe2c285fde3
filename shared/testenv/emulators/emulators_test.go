package emulators

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/invite-forward/invite-forward/shared/awsclients"
	"github.com/invite-forward/invite-forward/shared/awsconfig"
)

func localDir(t *testing.T) string {
	t.Helper()
	// The package sits at shared/testenv/emulators; local/ is at the repository root.
	dir, err := filepath.Abs(filepath.Join("..", "..", "..", "local"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "package.json")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestStop_LeavesNoProcessBehind(t *testing.T) {
	e, err := StartSES(context.Background(), Options{LocalDir: localDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	pid := e.cmd.Process.Pid
	if err := sesReady(context.Background(), e.Endpoint); err != nil {
		t.Fatalf("started but not answering: %v", err)
	}

	e.Stop()
	e.Stop() // idempotent

	select {
	case <-e.Exited():
	default:
		t.Error("Exited is not closed after Stop")
	}
	if err := syscall.Kill(-pid, 0); err != syscall.ESRCH {
		t.Errorf("process group %d still exists after Stop (kill -0: %v)", pid, err)
	}
}

func TestStart_PortInUseFailsWithTheEmulatorsOwnMessage(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port

	_, err = StartSES(context.Background(), Options{LocalDir: localDir(t), SESPort: port})
	if err == nil {
		t.Fatal("started on a port that is in use")
	}
	for _, want := range []string{"SES emulator on port", "exited before it was ready", "aws-ses-v2-local: failed to start server"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestInstall_NeedsLocalDir(t *testing.T) {
	if _, err := StartSES(context.Background(), Options{}); err == nil || !strings.Contains(err.Error(), "LocalDir") {
		t.Errorf("err = %v, want one naming Options.LocalDir", err)
	}
}

func TestInstalled_ComparesPinnedVersions(t *testing.T) {
	dir := t.TempDir()
	write := func(path, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, path)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, path), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("package.json", `{"dependencies": {"a": "1.2.3"}}`)
	if ok, err := installed(dir); ok || err != nil {
		t.Errorf("nothing installed: got %v, %v", ok, err)
	}
	write("node_modules/a/package.json", `{"version": "1.2.2"}`)
	if ok, _ := installed(dir); ok {
		t.Error("an older version counts as installed")
	}
	write("node_modules/a/package.json", `{"version": "1.2.3"}`)
	if ok, err := installed(dir); !ok || err != nil {
		t.Errorf("the pinned version: got %v, %v", ok, err)
	}
}

func TestJavaMajor(t *testing.T) {
	tests := map[string]int{
		`openjdk version "17.0.15" 2025-04-15`:    17,
		`openjdk version "21" 2023-09-19`:         21,
		`java version "1.8.0_392"`:                8,
		`openjdk version "11.0.2" 2019-01-15 LTS`: 11,
	}
	for out, want := range tests {
		if got, ok := javaMajor(out); !ok || got != want {
			t.Errorf("javaMajor(%q) = %d, %v; want %d", out, got, ok, want)
		}
	}
	if _, ok := javaMajor("bash: java: command not found"); ok {
		t.Error("read a version from no version")
	}
}

// TestDynamoDB_DataDirKeepsTablesAcrossRestarts: with DataDir, a table written before a stop
// is there after the next start (make dev's DEV_PERSIST); without it, nothing survives.
func TestDynamoDB_DataDirKeepsTablesAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	tables := func(opts Options) []string {
		t.Helper()
		e, err := StartDynamoDB(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Stop()
		db := awsclients.DynamoDBAt(awsconfig.Static("us-east-1"), e.Endpoint)
		out, err := db.ListTables(context.Background(), &dynamodb.ListTablesInput{})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.TableNames) == 0 {
			_, err := db.CreateTable(context.Background(), &dynamodb.CreateTableInput{
				TableName:            aws.String("kept"),
				AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
				KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
				BillingMode:          types.BillingModePayPerRequest,
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		return out.TableNames
	}
	persisted := Options{LocalDir: localDir(t), DataDir: dir}
	if got := tables(persisted); len(got) != 0 {
		t.Fatalf("a new data folder holds %v", got)
	}
	if got := tables(persisted); len(got) != 1 || got[0] != "kept" {
		t.Errorf("after a restart with the same data folder: %v, want [kept]", got)
	}
	if got := tables(Options{LocalDir: localDir(t)}); len(got) != 0 {
		t.Errorf("in memory, a fresh start holds %v", got)
	}
}
