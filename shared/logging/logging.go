// Package logging sets up the JSON logs every function writes (log/slog to stdout, which
// Lambda ships to CloudWatch). Secrets never reach it: callers log ids and outcomes, not
// tokens, PINs, addresses or message text.
package logging

import (
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/invite-forward/invite-forward/shared/config"
)

// LevelVar names the setting of the log level (INFO when unset); LevelRule is what it may be,
// checked at every function's init (setup.Rules, and ws-default's main).
const LevelVar = "LOG_LEVEL"

var LevelRule = config.Rule{Values: []string{"DEBUG", "INFO", "WARN", "ERROR"}}

// New returns a JSON logger at the named level (one of LevelRule's; INFO for anything else).
func New(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	switch strings.ToUpper(level) {
	case "DEBUG":
		l = slog.LevelDebug
	case "WARN":
		l = slog.LevelWarn
	case "ERROR":
		l = slog.LevelError
	default:
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// Default is the logger of a function: stdout, level from LOG_LEVEL.
func Default() *slog.Logger { return New(os.Stdout, os.Getenv(LevelVar)) }
