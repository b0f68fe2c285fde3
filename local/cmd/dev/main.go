// Command dev runs the whole product on one machine without an AWS account (`make dev`):
// DynamoDB Local and the SES emulator, the table created from template.yaml and seeded from
// local/seed.json, and the local gateway serving the HTTP API, the WebSocket API with its
// @connections endpoint, dev agent tokens and the demo page. Ctrl-C (or SIGTERM) stops all
// of it; no emulator process outlives it.
//
// Environment (all optional):
//
//	DEV_HTTP_ADDR       HTTP API address               127.0.0.1:3000
//	DEV_WS_ADDR         WebSocket API address          127.0.0.1:3001
//	DEV_DYNAMODB_PORT   DynamoDB Local port            8000
//	DEV_SES_PORT        SES emulator port              8005
//	DEV_SEED_FILE       directory seed file            local/seed.json
//	ALLOWED_ORIGINS     web origins (CORS, pageUrl)    http://localhost:<port>,http://127.0.0.1:<port>
//	TABLE_NAME, DEFAULT_TEAM_ID, SES_FROM_ADDRESS, PIN_HMAC_SECRET, LOG_LEVEL, and any other
//	setting the functions read: a value set here wins over the local default.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/invite-forward/invite-forward/local/devdata"
	"github.com/invite-forward/invite-forward/local/gateway"
	"github.com/invite-forward/invite-forward/shared/auth"
	"github.com/invite-forward/invite-forward/shared/awsclients"
	"github.com/invite-forward/invite-forward/shared/config"
	"github.com/invite-forward/invite-forward/shared/devkeys"
	"github.com/invite-forward/invite-forward/shared/directory"
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
	fmt.Println("Starting DynamoDB Local and the SES emulator…")
	emus, err := emulators.Start(ctx, emulators.Options{
		LocalDir:     filepath.Join(repo, "local"),
		DynamoDBPort: config.Int("DEV_DYNAMODB_PORT", 8000),
		SESPort:      config.Int("DEV_SES_PORT", 8005),
	})
	if err != nil {
		return err
	}
	defer emus.Stop()

	table := config.String("TABLE_NAME", "invite-forward-local")
	seed, err := prepareTable(ctx, tmpl, emus.DynamoDB.Endpoint, table, config.String("DEV_SEED_FILE", filepath.Join(repo, "local", "seed.json")))
	if err != nil {
		return err
	}
	keys, err := devkeys.LoadOrCreate(filepath.Join(repo, "local", ".dev", "agent-signing-key.pem"))
	if err != nil {
		return err
	}
	gw, err := gateway.Start(ctx, gateway.Config{
		HTTPAddr:       config.String("DEV_HTTP_ADDR", "127.0.0.1:3000"),
		WebSocketAddr:  config.String("DEV_WS_ADDR", "127.0.0.1:3001"),
		Template:       tmpl,
		AllowedOrigins: config.List("ALLOWED_ORIGINS"),
		Keys:           keys,
		DemoDir:        filepath.Join(repo, "local", "demo"),
		Log:            log,
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
	printBanner(gw, emus, table, seed)
	return wait(ctx, gw, emus, log)
}

// prepareTable creates the table in DynamoDB Local and seeds the directory.
func prepareTable(ctx context.Context, tmpl *samtemplate.Template, endpoint, table, seedFile string) (directory.Seed, error) {
	db := awsclients.DynamoDBAt(awsclients.Static(region), endpoint)
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := devdata.CreateTable(ctx, db, tmpl, table); err != nil {
		return directory.Seed{}, err
	}
	return devdata.LoadSeedFile(ctx, store.New(db, table), seedFile)
}

// wait serves until Ctrl-C, SIGTERM, a server failure or an emulator dying, then stops the
// gateway (each open WebSocket gets its $disconnect while DynamoDB Local still runs).
func wait(ctx context.Context, gw *gateway.Gateway, emus *emulators.Emulators, log *slog.Logger) error {
	var cause error
	select {
	case <-ctx.Done():
		fmt.Println("\nStopping…")
	case cause = <-gw.Err():
	case <-emus.DynamoDB.Exited():
		cause = fmt.Errorf("DynamoDB Local exited:\n%s", emus.DynamoDB.Output())
	case <-emus.SES.Exited():
		cause = fmt.Errorf("the SES emulator exited:\n%s", emus.SES.Output())
	}
	closeCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := gw.Close(closeCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Warn("gateway shutdown", "error", err.Error())
	}
	return cause
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
