// Command dev runs the whole product on one machine without an AWS account (`make dev`):
// DynamoDB Local and the SES emulator, the table created from template.yaml and seeded from
// local/seed.json, and the local gateway serving the HTTP API, the WebSocket API with its
// @connections endpoint, dev agent tokens and the demo page. Ctrl-C (or SIGTERM) stops all
// of it; no emulator process outlives it.
//
// Environment (all optional):
//
//	DEV_HOST            address the gateway and the    127.0.0.1 (0.0.0.0 lets a `sam local`
//	                    SES emulator bind                         container reach them)
//	DEV_HTTP_ADDR       HTTP API address               $DEV_HOST:4000
//	DEV_WS_ADDR         WebSocket API address          $DEV_HOST:4001
//	DEV_DYNAMODB_PORT   DynamoDB Local port            8000 (it binds every interface)
//	DEV_SES_PORT        SES emulator port              8005
//	DEV_SEED_FILE       directory seed file            local/seed.json
//	ALLOWED_ORIGINS     web origins (CORS, pageUrl)    http://localhost:<port>,http://127.0.0.1:<port>
//	TABLE_NAME, DEFAULT_TEAM_ID, SES_FROM_ADDRESS, PIN_HMAC_SECRET, LOG_LEVEL, and any other
//	setting the functions read: a value set here wins over the local default.
//
// The ports stay clear of `sam local start-api` (3000) and `sam local start-lambda` (3001).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/invite-forward/invite-forward/local/devdata"
	"github.com/invite-forward/invite-forward/local/gateway"
	"github.com/invite-forward/invite-forward/shared/auth"
	"github.com/invite-forward/invite-forward/shared/awsclients"
	"github.com/invite-forward/invite-forward/shared/awsconfig"
	"github.com/invite-forward/invite-forward/shared/config"
	"github.com/invite-forward/invite-forward/shared/devkeys"
	"github.com/invite-forward/invite-forward/shared/directory"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/mail/sesmail"
	"github.com/invite-forward/invite-forward/shared/samtemplate"
	"github.com/invite-forward/invite-forward/shared/setup"
	"github.com/invite-forward/invite-forward/shared/store"
	"github.com/invite-forward/invite-forward/shared/testenv/emulators"
)

const region = "us-east-1"

func main() {
	// Before the emulators start: their own parent-death signal is tied to this process.
	dieWithParent()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel()}))
	if err := run(ctx, log); err != nil {
		fmt.Fprintln(os.Stderr, "dev:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger) error {
	repo, err := repoRoot()
	if err != nil {
		return err
	}
	tmpl, err := samtemplate.Load(filepath.Join(repo, "template.yaml"))
	if err != nil {
		return err
	}
	host := config.String("DEV_HOST", "127.0.0.1")
	opts := emulators.Options{
		LocalDir:     filepath.Join(repo, "local"),
		Host:         host,
		DynamoDBPort: config.Int("DEV_DYNAMODB_PORT", 8000),
		SESPort:      config.Int("DEV_SES_PORT", 8005),
	}
	if config.String("DEV_PERSIST", "") != "" {
		opts.DataDir = filepath.Join(repo, "local", ".dev", "dynamodb")
	}
	fmt.Println("Starting DynamoDB Local and the SES emulator…")
	emus, err := emulators.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer emus.Stop() // the emulators running at the end, restarted ones included

	table := config.String("TABLE_NAME", "invite-forward-local")
	pins, err := pinKey(filepath.Join(repo, "local", "sam-env.json"))
	if err != nil {
		return err
	}
	seedFile := config.String("DEV_SEED_FILE", filepath.Join(repo, "local", "seed.json"))
	var seed directory.Seed
	stack := &localStack{emus: emus, opts: opts, restarts: map[string]int{},
		prepare: func(ctx context.Context, endpoint string) (err error) {
			seed, err = prepareTable(ctx, tmpl, endpoint, table, seedFile, pins)
			return err
		}}
	if err := stack.prepare(ctx, emus.DynamoDB.Endpoint); err != nil {
		return err
	}
	keys, err := devkeys.LoadOrCreate(filepath.Join(repo, "local", ".dev", "agent-signing-key.pem"))
	if err != nil {
		return err
	}
	gw, err := gateway.Start(ctx, gateway.Config{
		HTTPAddr:       config.String("DEV_HTTP_ADDR", net.JoinHostPort(host, "4000")),
		WebSocketAddr:  config.String("DEV_WS_ADDR", net.JoinHostPort(host, "4001")),
		Template:       tmpl,
		AllowedOrigins: config.List("ALLOWED_ORIGINS"),
		Keys:           keys,
		DemoDir:        filepath.Join(repo, "local", "demo"),
		Log:            log,
		// The push function reads the table's stream, as in AWS.
		DynamoDBEndpoint: emus.DynamoDB.Endpoint,
		Deps: func(u gateway.URLs, agents auth.AgentTokens) (*setup.Deps, error) {
			if err := configure(u, emus, table); err != nil {
				return nil, err
			}
			// Everything else (store, mail, push) is built from the environment just set,
			// exactly as in a Lambda; the secret comes from PIN_HMAC_SECRET.
			return setup.With(log, setup.Overrides{AgentTokens: agents}, setup.SendMailWith(sesmail.FromEnv)), nil
		},
	})
	if err != nil {
		return err
	}
	printBanner(gw, emus, table, seed, opts.DataDir)
	err = stack.supervise(ctx, gw.Err())
	fmt.Println("\nStopping…")
	closeCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Each open WebSocket gets its $disconnect while DynamoDB Local still runs.
	if cerr := gw.Close(closeCtx); cerr != nil && !errors.Is(cerr, context.DeadlineExceeded) {
		log.Warn("gateway shutdown", "error", cerr.Error())
	}
	return err
}

// prepareTable creates the table in DynamoDB Local, seeds the directory and writes the
// sample data that events/*.json names.
func prepareTable(ctx context.Context, tmpl *samtemplate.Template, endpoint, table, seedFile string, pins invitation.PINKey) (directory.Seed, error) {
	db := awsclients.DynamoDBAt(awsconfig.Static(region), endpoint)
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := devdata.CreateTable(ctx, db, tmpl, table); err != nil {
		return directory.Seed{}, err
	}
	st := store.New(db, table)
	seed, err := devdata.LoadSeedFile(ctx, st, seedFile)
	if err != nil {
		return seed, err
	}
	return seed, devdata.SeedSamples(ctx, st, pins, time.Now())
}

// pinKey is the PIN key of the local functions. Its secret defaults to the one in the
// `sam local` env-vars file, so a function run by `sam local` redeems the PINs this stack
// issues (and the sample PIN); PIN_HMAC_SECRET set by hand wins, as for every setting.
func pinKey(samEnvFile string) (invitation.PINKey, error) {
	env, err := devdata.SamEnv(samEnvFile)
	if err != nil {
		return invitation.PINKey{}, err
	}
	secret := config.String("PIN_HMAC_SECRET", env["PIN_HMAC_SECRET"])
	if err := os.Setenv("PIN_HMAC_SECRET", secret); err != nil {
		return invitation.PINKey{}, err
	}
	return invitation.NewPINKey([]byte(secret))
}

func logLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(config.String("LOG_LEVEL", "INFO"))); err != nil {
		return slog.LevelInfo
	}
	return l
}

// repoRoot is the directory holding go.mod and template.yaml (`make dev` runs there).
func repoRoot() (string, error) {
	path, err := samtemplate.FindRepoFile("template.yaml")
	if err != nil {
		return "", err
	}
	return filepath.Dir(path), nil
}
