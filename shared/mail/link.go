package mail

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/conversation"
)

// JoinFragmentKey names the fragment parameter that carries the join token: the join page
// reads location.hash for it and POSTs the token to /join/token.
const JoinFragmentKey = "join"

// JoinLink builds the link of an invitation email. It points at the conversation's page when
// that page's origin is exactly on the allow-list, else at the default join page, which must
// itself be on the allow-list. No other origin can come out of it, so a pageUrl chosen by a
// visitor can never turn our email into a redirect to somewhere else.
//
// The token travels in the fragment (#join=…) because browsers never send fragments to
// servers, so it stays out of access logs, proxies and Referer headers. The page's path and
// query are kept so the customer lands where the conversation happened; any fragment it had is
// replaced.
func JoinLink(pageURL string, allowedOrigins []string, defaultJoinPage string, token string) (string, error) {
	if token == "" {
		return "", apperror.Internal(errors.New("mail: join link without a token"))
	}
	if page, ok := allowedPage(pageURL, allowedOrigins); ok {
		return page.withToken(token), nil
	}
	page, ok := allowedPage(defaultJoinPage, allowedOrigins)
	if !ok {
		return "", apperror.Internal(fmt.Errorf("mail: default join page %q is not on the allowed origins", defaultJoinPage))
	}
	return page.withToken(token), nil
}

// page is a URL whose origin passed the allow-list.
type page struct {
	origin string // exactly the string the allow-list matched
	url    *url.URL
}

// allowedPage parses raw and accepts it only as an absolute http(s) URL without userinfo whose
// origin is on the allow-list. Userinfo is refused outright rather than stripped: browsers and
// Go disagree about where it ends (think "https://evil.com\@app.example.com"), and an
// allow-listed page never needs it.
func allowedPage(raw string, allowedOrigins []string) (page, bool) {
	if raw == "" {
		return page{}, false
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.Opaque != "" {
		return page{}, false
	}
	if !conversation.OriginAllowed(raw, allowedOrigins) {
		return page{}, false
	}
	return page{origin: conversation.Origin(raw), url: u}, true
}

// withToken rebuilds the link from the checked origin (lower-cased, exactly what the
// allow-list matched), the escaped path and a query that is safe to paste into an email.
func (p page) withToken(token string) string {
	u := p.url
	var b strings.Builder
	b.WriteString(p.origin)
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	b.WriteString(path)
	if u.RawQuery != "" {
		b.WriteByte('?')
		b.WriteString(escapeQuery(u.RawQuery))
	}
	b.WriteString("#" + JoinFragmentKey + "=")
	b.WriteString(url.QueryEscape(token))
	return b.String()
}

// escapeQuery percent-encodes the bytes of a raw query that may not appear literally in a URL
// (spaces, quotes, angle brackets, non-ASCII, …) and keeps everything else, including existing
// escapes, so the page sees the same parameters it had. url.Values would reorder them.
func escapeQuery(q string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		c := q[i]
		if queryByteOK(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// queryByteOK lists RFC 3986 unreserved, sub-delims, ":", "@", "/", "?" and "%" (an existing
// escape). Anything else is escaped.
func queryByteOK(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@/?%", c) >= 0
}
