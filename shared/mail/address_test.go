package mail_test

import (
	"strings"
	"testing"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/mail"
)

func TestParseAddress_AcceptsOneAddress(t *testing.T) {
	tests := []struct {
		name, raw, want string
	}{
		{"plain", "jane@example.com", "jane@example.com"},
		{"surrounding spaces", "  jane@example.com  ", "jane@example.com"},
		{"domain lower-cased, local part kept", "Jane.Doe@Example.COM", "Jane.Doe@example.com"},
		{"display name dropped", "Jane Doe <jane@example.com>", "jane@example.com"},
		{"quoted display name dropped", `"Doe, Jane" <jane@example.com>`, "jane@example.com"},
		{"angle brackets only", "<jane@example.com>", "jane@example.com"},
		{"plus tag and subdomain", "jane+invite@mail.example.co.uk", "jane+invite@mail.example.co.uk"},
		{"non-ASCII display name", "Jürgen <j@example.de>", "j@example.de"},
		{"longest local part", strings.Repeat("a", 64) + "@example.com", strings.Repeat("a", 64) + "@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mail.ParseAddress(tt.raw)
			if err != nil {
				t.Fatalf("ParseAddress(%q): %v", tt.raw, err)
			}
			if got != tt.want {
				t.Fatalf("ParseAddress(%q) = %q, want %q", tt.raw, got, tt.want)
			}
		})
	}
}

func TestParseAddress_RefusesAnythingButOnePlainAddress(t *testing.T) {
	long := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 63) + ".com"
	tests := []struct {
		name, raw string
	}{
		{"empty", ""},
		{"no at", "jane.example.com"},
		{"no domain dot", "jane@localhost"},
		{"address literal", "jane@[192.0.2.1]"},
		{"numeric top-level label", "jane@192.0.2.1"},
		{"list", "jane@example.com, joe@example.com"},
		{"list with semicolon", "jane@example.com; joe@example.com"},
		{"group", "friends: jane@example.com;"},
		{"group with display name", "friends: Jane <jane@example.com>;"},
		{"comment", "jane@example.com (Jane)"},
		{"quoted local part", `"jane doe"@example.com`},
		{"CRLF header injection", "jane@example.com\r\nBcc: victim@example.org"},
		{"LF in display name", "Jane\n <jane@example.com>"},
		{"CR alone", "jane@example.com\r"},
		{"tab", "jane@example.com\t"},
		{"NUL", "jane\x00@example.com"},
		{"C1 control", "Jane\u0085 <jane@example.com>"},
		{"line separator", "Jane\u2028 <jane@example.com>"},
		{"invalid UTF-8", "J\xffane <jane@example.com>"},
		{"non-ASCII local part", "jürgen@example.de"},
		{"non-ASCII domain", "j@exämple.de"},
		{"leading hyphen label", "jane@-example.com"},
		{"empty label", "jane@example..com"},
		{"local part too long", strings.Repeat("a", 65) + "@example.com"},
		{"address too long", long},
		{"two ats", "jane@doe@example.com"},
		{"spaces inside", "jane doe@example.com"},
		{"display name but address not in angle brackets", "Jane jane@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mail.ParseAddress(tt.raw)
			if err == nil {
				t.Fatalf("ParseAddress(%q) = %q, want invalid_email", tt.raw, got)
			}
			if !apperror.Is(err, "invalid_email") || apperror.As(err).Kind != apperror.KindInvalid {
				t.Fatalf("ParseAddress(%q) error = %v, want invalid_email (400)", tt.raw, err)
			}
		})
	}
}

// FuzzParseAddress holds ParseAddress to its promise for any input: no panic, and anything it
// accepts is a single header-safe address that parses back to itself.
func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{
		"jane@example.com",
		"Jane Doe <Jane@Example.COM>",
		`"Doe, Jane" <jane@example.com>`,
		"jane@example.com\r\nBcc: x@example.org",
		"friends: jane@example.com;",
		"a@b.c, d@e.f",
		"=?utf-8?q?J=C3=BCrgen?= <j@example.de>",
		"jane@example.com (comment)",
		"<jane@example.com>",
		"\"a\\\"b\"@example.com",
		"jane@[::1]",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		addr, err := mail.ParseAddress(raw)
		if err != nil {
			return
		}
		if strings.ContainsAny(addr, "\r\n") {
			t.Fatalf("ParseAddress(%q) = %q contains CR or LF", raw, addr)
		}
		if len(addr) > 254 {
			t.Fatalf("ParseAddress(%q) = %q is longer than 254", raw, addr)
		}
		again, err := mail.ParseAddress(addr)
		if err != nil || again != addr {
			t.Fatalf("ParseAddress(%q) = %q, which re-parses to %q, %v", raw, addr, again, err)
		}
	})
}
