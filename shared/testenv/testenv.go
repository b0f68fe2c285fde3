// Package testenv gives tests the real (local) AWS APIs instead of fakes: a DynamoDB client
// with a fresh table built from template.yaml's definition, and an SES v2 client whose sent
// mail can be read back.
//
// The emulators come from the environment when IF_TEST_DYNAMODB_ENDPOINT and
// IF_TEST_SES_ENDPOINT are set (`make test` starts them once for the whole run with
// local/cmd/emulators). Otherwise a package that calls Main from its TestMain starts each
// emulator on a free port the first time a test asks for it, and stops it after the tests:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
//
// Tests share the emulators, so they isolate themselves by data: each gets its own table
// (NewTable) and sends mail to its own recipient address (MailTo).
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/invite-forward/invite-forward/shared/awsclients"
	"github.com/invite-forward/invite-forward/shared/awsconfig"
	"github.com/invite-forward/invite-forward/shared/mail/sesmail"
	"github.com/invite-forward/invite-forward/shared/samtemplate"
	"github.com/invite-forward/invite-forward/shared/testenv/emulators"
)

// Environment variables naming running emulators.
const (
	DynamoDBEndpointEnv = "IF_TEST_DYNAMODB_ENDPOINT"
	SESEndpointEnv      = "IF_TEST_SES_ENDPOINT"
)

// Region is the region every test client uses.
const Region = "us-east-1"

// Mail is a message the SES emulator accepted.
type Mail = emulators.Mail

// managed is set while Main runs the tests, which makes Main responsible for stopping what
// the tests start.
var managed atomic.Bool

// Main runs the package's tests and then stops the emulators they started. Call it from
// TestMain.
func Main(m *testing.M) {
	managed.Store(true)
	code := m.Run()
	dynamoDB.stop()
	ses.stop()
	os.Exit(code)
}

// DynamoDBEndpoint returns the base URL of DynamoDB Local, starting it if needed.
func DynamoDBEndpoint(t testing.TB) string {
	t.Helper()
	return dynamoDB.endpoint(t)
}

// SESEndpoint returns the base URL of the SES emulator, starting it if needed.
func SESEndpoint(t testing.TB) string {
	t.Helper()
	return ses.endpoint(t)
}

// DynamoDB returns a client for DynamoDB Local.
func DynamoDB(t testing.TB) *dynamodb.Client {
	t.Helper()
	endpoint := DynamoDBEndpoint(t)
	return cachedClient(endpoint, func() any { return awsclients.DynamoDBAt(awsconfig.Static(Region), endpoint) }).(*dynamodb.Client)
}

// SES returns an SES v2 client for the SES emulator.
func SES(t testing.TB) *sesv2.Client {
	t.Helper()
	endpoint := SESEndpoint(t)
	return cachedClient(endpoint, func() any { return sesmail.ClientAt(awsconfig.Static(Region), endpoint) }).(*sesv2.Client)
}

// clients keeps one client per endpoint: each SDK client has its own connection pool, and
// hundreds of parallel tests each opening their own would only churn sockets.
var clients sync.Map

func cachedClient(endpoint string, build func() any) any {
	if c, ok := clients.Load(endpoint); ok {
		return c
	}
	c, _ := clients.LoadOrStore(endpoint, build())
	return c
}

// NewTable creates a table for this test alone, with the keys, indexes and TTL attribute of
// template.yaml's table, and deletes it when the test ends. It is safe to call from parallel
// tests, and from tests of several packages sharing one DynamoDB Local.
func NewTable(t testing.TB) string {
	t.Helper()
	return newTable(t, true)
}

// NewTableWithoutStream is NewTable without the table's stream, for tests that never push:
// DynamoDB Local then records no stream, and nothing reads one.
func NewTableWithoutStream(t testing.TB) string {
	t.Helper()
	return newTable(t, false)
}

func newTable(t testing.TB, stream bool) string {
	t.Helper()
	client := DynamoDB(t)
	tpl, err := template()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	name := tableName(t)
	in, ttl, err := tpl.TableInput(name)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	if !stream {
		in.StreamSpecification = nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := createTable(ctx, client, in, ttl); err != nil {
		t.Fatalf("testenv: create table %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// Tables live in memory and die with the emulator, so a failed delete costs nothing
		// worth failing a test for.
		if _, err := client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: &name}); err != nil {
			t.Logf("testenv: delete table %s: %v", name, err)
		}
	})
	return name
}

func createTable(ctx context.Context, client *dynamodb.Client, in *dynamodb.CreateTableInput, ttl string) error {
	if _, err := client.CreateTable(ctx, in); err != nil {
		return err
	}
	exists := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 50 * time.Millisecond
	})
	if err := exists.Wait(ctx, &dynamodb.DescribeTableInput{TableName: in.TableName}, 20*time.Second); err != nil {
		return err
	}
	if ttl == "" {
		return nil
	}
	_, err := client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               in.TableName,
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(ttl), Enabled: aws.Bool(true)},
	})
	return err
}

var template = sync.OnceValues(samtemplate.LoadRepo)

var notInTableName = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// tableName is readable (the test's name) and unique across processes (random suffix), within
// DynamoDB's 255 characters.
func tableName(t testing.TB) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	base := notInTableName.ReplaceAllString(t.Name(), "_")
	if len(base) > 200 {
		base = base[:200]
	}
	return base + "-" + hex.EncodeToString(b)
}

// SentMail returns every message the SES emulator has accepted, from all tests.
func SentMail(t testing.TB) []Mail {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	mails, err := emulators.SentMail(ctx, SESEndpoint(t))
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return mails
}

// MailTo returns the messages sent to address (To, Cc or Bcc), oldest first. Tests that give
// each recipient a unique address see only their own mail.
func MailTo(t testing.TB, address string) []Mail {
	t.Helper()
	var out []Mail
	for _, m := range SentMail(t) {
		if m.SentTo(address) {
			out = append(out, m)
		}
	}
	return out
}

// lazyEmulator is an emulator found in the environment or started on first use.
type lazyEmulator struct {
	env   string
	start func(context.Context, emulators.Options) (*emulators.Emulator, error)

	mu      sync.Mutex
	started *emulators.Emulator
	err     error // a failed start is not retried by every later test
}

var (
	dynamoDB = &lazyEmulator{env: DynamoDBEndpointEnv, start: emulators.StartDynamoDB}
	ses      = &lazyEmulator{env: SESEndpointEnv, start: emulators.StartSES}
)

func (l *lazyEmulator) endpoint(t testing.TB) string {
	t.Helper()
	if v := os.Getenv(l.env); v != "" {
		return v
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.started == nil && l.err == nil {
		l.started, l.err = l.startNow()
	}
	if l.err != nil {
		t.Fatalf("testenv: %v", l.err)
	}
	return l.started.Endpoint
}

func (l *lazyEmulator) startNow() (*emulators.Emulator, error) {
	if !managed.Load() {
		return nil, fmt.Errorf("%s is not set and this package's TestMain does not call testenv.Main, "+
			"which would start and stop the emulators; add\n\n\tfunc TestMain(m *testing.M) { testenv.Main(m) }\n\n"+
			"or run the tests with `make test`", l.env)
	}
	local, err := samtemplate.FindRepoFile("local")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // includes a first npm ci
	defer cancel()
	e, err := l.start(ctx, emulators.Options{LocalDir: local})
	if err != nil {
		return nil, err
	}
	// Subprocesses of the tests (a function binary run by a test, say) find it too.
	if err := os.Setenv(l.env, e.Endpoint); err != nil {
		e.Stop()
		return nil, err
	}
	return e, nil
}

func (l *lazyEmulator) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.started != nil {
		l.started.Stop()
	}
}

// Attr is an item's string or number attribute as text, "" when it has none: what tests
// compare keys and stamps by.
func Attr(m map[string]types.AttributeValue, name string) string {
	switch v := m[name].(type) {
	case *types.AttributeValueMemberS:
		return v.Value
	case *types.AttributeValueMemberN:
		return v.Value
	}
	return ""
}
