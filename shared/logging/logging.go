// Package logging sets up the JSON logs every function writes (log/slog to stdout, which
// Lambda ships to CloudWatch). Secrets never reach it: callers log ids and outcomes, not
// tokens, PINs, addresses or message text.
package logging

import (
	"io"
	"log/slog"
	"os"
	"strings"
)

// LevelVar names the setting of the log level, one of Levels (INFO when unset).
const LevelVar = "LOG_LEVEL"

// Levels are the values LevelVar may take.
var Levels = []string{"DEBUG", "INFO", "WARN", "ERROR"}

// New returns a JSON logger at the named level (one of Levels; INFO for anything else).
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
