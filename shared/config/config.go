// Package config reads a function's settings from environment variables, which the SAM
// template sets from its Parameters. Reading happens once at init; a missing required value
// stops the function from starting rather than failing requests one by one.
package config

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
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

// Check enforces a string setting's template rule at init, on a value that may have reached
// the function by another way than the template (an edited console variable, `sam local`):
// a value outside the rule stops the function with a message naming the variable. Each item
// of a comma-separated list is checked alone, as CloudFormation checks a CommaDelimitedList.
func Check(name string, rule Rule, local bool) {
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		return
	}
	items := []string{v}
	if rule.List {
		items = List(name)
	}
	for _, item := range items {
		if !rule.allows(item, local) {
			panic(fmt.Sprintf("config: %s=%q is not allowed: %s", name, item, rule))
		}
	}
}

// Rule is a template parameter's AllowedPattern or AllowedValues.
type Rule struct {
	Pattern string   // a regular expression the whole value must match
	Values  []string // or one of these
	List    bool     // a CommaDelimitedList: the rule holds for each item
	// Local is a looser pattern allowed only against the local emulators: the local stack
	// serves its JWKS over plain HTTP on loopback.
	Local string
	// MaxLength is the parameter's MaxLength, in characters; 0 for none.
	MaxLength int
}

func (r Rule) allows(v string, local bool) bool {
	if len(r.Values) > 0 {
		return slices.Contains(r.Values, v)
	}
	if r.MaxLength > 0 && utf8.RuneCountInString(v) > r.MaxLength {
		return false
	}
	if local && r.Local != "" && regexp.MustCompile(r.Local).MatchString(v) {
		return true
	}
	return regexp.MustCompile(r.Pattern).MatchString(v)
}

func (r Rule) String() string {
	if len(r.Values) > 0 {
		return "one of " + strings.Join(r.Values, ", ")
	}
	if r.MaxLength > 0 {
		return fmt.Sprintf("it must match %s and be at most %d characters", r.Pattern, r.MaxLength)
	}
	return "it must match " + r.Pattern
}
