package emulators

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// install makes sure local/node_modules holds exactly the versions local/package.json pins,
// running `npm ci` if not. Test binaries of several packages may start at the same moment, so
// the check and the install happen under a lock shared by every process on the machine.
func install(ctx context.Context, localDir string) error {
	if localDir == "" {
		return fmt.Errorf("emulators: Options.LocalDir is not set")
	}
	if ok, err := installed(localDir); err != nil || ok {
		return err
	}
	unlock, err := lockInstall(localDir)
	if err != nil {
		return err
	}
	defer unlock()
	if ok, err := installed(localDir); err != nil || ok {
		return err // another process installed while we waited
	}
	if _, err := exec.LookPath("npm"); err != nil {
		return fmt.Errorf("%s/node_modules is missing or out of date, and there is no npm on PATH to install it (install Node.js)", localDir)
	}
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = localDir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("npm ci in %s: %v\n%s", localDir, err, out)
	}
	return nil
}

// installed reports whether every dependency pinned in package.json is in node_modules at
// that exact version.
func installed(localDir string) (bool, error) {
	var pkg struct{ Dependencies map[string]string }
	if err := readJSON(filepath.Join(localDir, "package.json"), &pkg); err != nil {
		return false, fmt.Errorf("emulators: %w", err)
	}
	for name, want := range pkg.Dependencies {
		var dep struct{ Version string }
		if err := readJSON(filepath.Join(localDir, "node_modules", name, "package.json"), &dep); err != nil || dep.Version != want {
			return false, nil
		}
	}
	return true, nil
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// lockInstall takes an exclusive lock named after localDir, in the temporary directory so
// that the repository stays clean.
func lockInstall(localDir string) (unlock func(), err error) {
	abs, err := filepath.Abs(localDir)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(abs))
	path := filepath.Join(os.TempDir(), "invite-forward-npm-"+hex.EncodeToString(sum[:6])+".lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("install lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("install lock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
