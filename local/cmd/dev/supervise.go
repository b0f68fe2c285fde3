package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"

	"github.com/invite-forward/invite-forward/shared/testenv/emulators"
)

// maxRestarts bounds how often make dev brings a dead emulator back before it gives up and
// exits with the emulator's last words: an emulator that keeps dying has a cause to fix.
const maxRestarts = 3

// localStack is the emulators make dev runs, and how to put the table back into DynamoDB
// Local after a restart.
type localStack struct {
	emus     *emulators.Emulators
	opts     emulators.Options
	prepare  func(ctx context.Context, endpoint string) error
	restarts map[string]int
}

// supervise serves until ctx ends (nil) or the gateway fails (its error). An emulator that
// dies is started again on the same port, so every client configured with its endpoint goes
// on working; DynamoDB Local's table is created and seeded again (with DEV_PERSIST its data
// was kept on disk and is simply there again).
func (s *localStack) supervise(ctx context.Context, gatewayErr <-chan error) error {
	for {
		var err error
		select {
		case <-ctx.Done():
			return nil
		case err = <-gatewayErr:
			return err
		case <-s.emus.DynamoDB.Exited():
			err = s.restart(ctx, s.emus.DynamoDB, func(ctx context.Context, o emulators.Options) (*emulators.Emulator, error) {
				e, err := emulators.StartDynamoDB(ctx, o)
				if err == nil {
					s.emus.DynamoDB = e
					err = s.prepare(ctx, e.Endpoint)
				}
				return e, err
			})
		case <-s.emus.SES.Exited():
			err = s.restart(ctx, s.emus.SES, func(ctx context.Context, o emulators.Options) (*emulators.Emulator, error) {
				e, err := emulators.StartSES(ctx, o)
				if err == nil {
					s.emus.SES = e
				}
				return e, err
			})
		}
		if err != nil {
			return err
		}
	}
}

// restart starts a dead emulator again on its port, telling the developer what happened.
func (s *localStack) restart(ctx context.Context, dead *emulators.Emulator, start func(context.Context, emulators.Options) (*emulators.Emulator, error)) error {
	if ctx.Err() != nil {
		return nil // stopping: the emulators end with us
	}
	s.restarts[dead.Name]++
	if s.restarts[dead.Name] > maxRestarts {
		return fmt.Errorf("%s exited again (%d restarts already); its last output:\n%s", dead.Name, maxRestarts, dead.Output())
	}
	fmt.Printf("\n%s exited unexpectedly; its last output:\n%s\nStarting it again on the same port (restart %d of %d)…\n",
		dead.Name, dead.Output(), s.restarts[dead.Name], maxRestarts)
	port, err := portOf(dead.Endpoint)
	if err != nil {
		return err
	}
	opts := s.opts
	opts.DynamoDBPort, opts.SESPort = port, port
	if _, err := start(ctx, opts); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while restarting
		}
		return fmt.Errorf("restart %s: %w", dead.Name, err)
	}
	fmt.Printf("%s is back.%s\n", dead.Name, lostData(dead.Name, s.opts))
	return nil
}

func lostData(name string, opts emulators.Options) string {
	if name != "DynamoDB Local" {
		return " Mail sent before is gone from its mailbox."
	}
	if opts.DataDir != "" {
		return " Its data was kept in " + opts.DataDir + "."
	}
	return " It ran in memory, so the table was created and seeded again (DEV_PERSIST=1 keeps data)."
}

func portOf(endpoint string) (int, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return 0, err
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil || port == 0 {
		return 0, errors.Join(fmt.Errorf("no port in %q", endpoint), err)
	}
	return port, nil
}
