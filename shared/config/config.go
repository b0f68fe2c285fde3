// Package config reads a function's settings from environment variables, which the SAM
// template sets from its Parameters. Reading happens once at init; a missing required value
// stops the function from starting rather than failing requests one by one.
package config

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Required returns the named variable or panics at init with a clear message.
func Required(name string) string {
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		panic(fmt.Sprintf("config: environment variable %s is required", name))
	}
	return v
}

// String returns the named variable or def when unset.
func String(name, def string) string {
	if v := strings.TrimSpace(os.Getenv(name)); v != "" {
		return v
	}
	return def
}

// Int returns the named integer variable or def when unset; a malformed value panics at init.
func Int(name string, def int) int {
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		panic(fmt.Sprintf("config: %s=%q is not a whole number", name, v))
	}
	return n
}

// Range is the inclusive range a whole-number setting must lie in: the same bounds as the
// MinValue and MaxValue of the template parameter that sets it, so a value that reached the
// function by another way (an edited console variable, `sam local`) is refused just the same.
type Range struct{ Min, Max int }

// IntIn is Int for a bounded setting: a value outside r stops the function at init with a
// message naming the variable and its bounds.
func IntIn(name string, def int, r Range) int {
	n := Int(name, def)
	if n < r.Min || n > r.Max {
		panic(fmt.Sprintf("config: %s=%d must be between %d and %d", name, n, r.Min, r.Max))
	}
	return n
}

// Minutes reads a bounded whole number of minutes as a duration.
func Minutes(name string, def int, r Range) time.Duration {
	return time.Duration(IntIn(name, def, r)) * time.Minute
}

// Hours reads a bounded whole number of hours as a duration.
func Hours(name string, def int, r Range) time.Duration {
	return time.Duration(IntIn(name, def, r)) * time.Hour
}

// List reads a comma-separated list, dropping blanks.
func List(name string) []string {
	var out []string
	for _, s := range strings.Split(os.Getenv(name), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
