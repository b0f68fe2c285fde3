package emulators

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
)

// StartSES starts the SES v2 emulator (aws-ses-v2-local) on opts.Host:opts.SESPort and waits
// until its health check answers. It keeps every message it accepts; SentMail reads them.
func StartSES(ctx context.Context, opts Options) (*Emulator, error) {
	if err := install(ctx, opts.LocalDir); err != nil {
		return nil, err
	}
	if _, err := exec.LookPath("node"); err != nil {
		return nil, fmt.Errorf("the SES emulator needs Node.js, and there is no node on PATH")
	}
	cli := filepath.Join(opts.LocalDir, "node_modules", "aws-ses-v2-local", "dist", "cli.js")
	spec := launchSpec{
		name: "SES emulator",
		host: opts.host(),
		command: func(port int) *exec.Cmd {
			cmd := exec.Command("node", cli, "--host", opts.host(), "--port", strconv.Itoa(port))
			cmd.Dir = opts.LocalDir
			return cmd
		},
		ready: sesReady,
	}
	return start(ctx, spec, opts.SESPort, opts.readyTimeout())
}

func sesReady(ctx context.Context, endpoint string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/health-check", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health check: %s", resp.Status)
	}
	return nil
}
