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

// Minutes reads a whole number of minutes as a duration.
func Minutes(name string, def int) time.Duration { return time.Duration(Int(name, def)) * time.Minute }

// Hours reads a whole number of hours as a duration.
func Hours(name string, def int) time.Duration { return time.Duration(Int(name, def)) * time.Hour }

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
