package mail

import (
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/invite-forward/invite-forward/shared/apperror"
)

// Limits from RFC 5321 §4.5.3.1 (a path is at most 256 octets including the angle brackets)
// and a bound on what we are willing to parse when a display name comes along.
const (
	maxAddressLen   = 254
	maxLocalPartLen = 64
	maxLabelLen     = 63
	maxRawLen       = 512
)

// ParseAddress accepts exactly one email address, optionally written as `Name <addr>`, and
// returns the bare address with its domain lower-cased. It is stricter than net/mail on
// purpose: the result is handed to SES as a header value, so it must be one plain,
// re-parseable address with nothing that could add a header or a recipient.
func ParseAddress(raw string) (string, error) {
	if len(raw) > maxRawLen || !utf8.ValidString(raw) || hasControl(raw) {
		return "", invalidEmail()
	}
	parsed, err := mail.ParseAddress(raw)
	if err != nil {
		return "", invalidEmail()
	}
	if !writtenAsOneAddress(strings.TrimSpace(raw), parsed.Address) {
		return "", invalidEmail()
	}
	addr, ok := normalize(parsed.Address)
	if !ok {
		return "", invalidEmail()
	}
	return addr, nil
}

func invalidEmail() error {
	return apperror.Invalid("invalid_email", "email must be one address like name@example.com")
}

// hasControl reports characters that have no business in an address and could end a header
// line or hide text: C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == '\u2028' || r == '\u2029' {
			return true
		}
	}
	return false
}

// writtenAsOneAddress rejects forms net/mail accepts but that are not simply "an address":
// groups ("team: a@example.com;"), comments, and quoted or otherwise re-written local parts.
// Only the bare address or a display name followed by the literal <address> passes.
func writtenAsOneAddress(trimmed, addr string) bool {
	if strings.EqualFold(trimmed, addr) {
		return true
	}
	angle := "<" + addr + ">"
	return len(trimmed) >= len(angle) && strings.EqualFold(trimmed[len(trimmed)-len(angle):], angle)
}

// normalize checks the address as a dot-atom local part and a dotted host name, and lower-cases
// the domain (domains are case-insensitive; local parts are not, so they stay as typed).
func normalize(addr string) (string, bool) {
	if len(addr) > maxAddressLen {
		return "", false
	}
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return "", false
	}
	local, domain := addr[:at], strings.ToLower(addr[at+1:])
	if !validLocalPart(local) || !validDomain(domain) {
		return "", false
	}
	return local + "@" + domain, true
}

// validLocalPart accepts RFC 5322 dot-atom text in ASCII: SES does not deliver to
// internationalised local parts, and quoted local parts are a classic source of confusion.
func validLocalPart(local string) bool {
	if local == "" || len(local) > maxLocalPartLen {
		return false
	}
	for _, atom := range strings.Split(local, ".") {
		if atom == "" {
			return false
		}
		for i := 0; i < len(atom); i++ {
			if !isAtext(atom[i]) {
				return false
			}
		}
	}
	return true
}

func isAtext(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// validDomain accepts a host name of at least two labels (a bare "localhost" or an address
// literal like [1.2.3.4] is never where a customer reads mail) whose top-level label is not
// all digits (that would be an IP address).
func validDomain(domain string) bool {
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if !validLabel(l) {
			return false
		}
	}
	return strings.Trim(labels[len(labels)-1], "0123456789") != ""
}

func validLabel(l string) bool {
	if l == "" || len(l) > maxLabelLen || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
