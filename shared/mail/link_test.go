package mail_test

import (
	"net/url"
	"testing"

	"github.com/invite-forward/invite-forward/shared/mail"
)

func TestJoinLink_GoesOnlyToAllowListedOrigins(t *testing.T) {
	allowed := []string{"https://app.example.com", "http://localhost:3000/"}
	const (
		defaultPage = "https://app.example.com/join"
		token       = "tok_abc-123"
	)
	fallback := "https://app.example.com/join#join=" + token
	tests := []struct {
		name, pageURL, want string
	}{
		{"allowed page keeps path and query", "https://app.example.com/help/billing?lang=de&x=1", "https://app.example.com/help/billing?lang=de&x=1#join=" + token},
		{"existing fragment replaced", "https://app.example.com/chat#section-2", "https://app.example.com/chat#join=" + token},
		{"root without path", "https://app.example.com", "https://app.example.com/#join=" + token},
		{"uppercase host and scheme", "HTTPS://APP.Example.COM/Chat", "https://app.example.com/Chat#join=" + token},
		{"allowed http origin with port", "http://localhost:3000/demo", "http://localhost:3000/demo#join=" + token},
		{"query with spaces is escaped", "https://app.example.com/p?q=a b&r=\"x\"", "https://app.example.com/p?q=a%20b&r=%22x%22#join=" + token},
		{"backslash in path stays in path", `https://app.example.com/\evil.com`, "https://app.example.com/%5Cevil.com#join=" + token},
		{"double slash path stays on origin", "https://app.example.com//evil.com/x", "https://app.example.com//evil.com/x#join=" + token},

		{"empty pageUrl", "", fallback},
		{"suffix domain", "https://app.example.com.evil.com/chat", fallback},
		{"userinfo looks like host", "https://app.example.com@evil.com/chat", fallback},
		{"userinfo on allowed host", "https://user:pass@app.example.com/chat", fallback},
		{"backslash userinfo trick", `https://evil.com\@app.example.com/`, fallback},
		{"http instead of https", "http://app.example.com/chat", fallback},
		{"https instead of http", "https://localhost:3000/demo", fallback},
		{"explicit port differs", "https://app.example.com:8443/chat", fallback},
		{"other port on allowed host", "http://localhost:3001/demo", fallback},
		{"javascript scheme", "javascript:alert(document.cookie)", fallback},
		{"javascript with allowed host", "javascript://app.example.com/%0Aalert(1)", fallback},
		{"data URL", "data:text/html,<script>alert(1)</script>", fallback},
		{"scheme-relative", "//app.example.com/chat", fallback},
		{"relative path", "/chat", fallback},
		{"subdomain of allowed", "https://evil.app.example.com/", fallback},
		{"trailing dot host", "https://app.example.com./chat", fallback},
		{"unparseable", "https://app.example.com/%zz\x7f", fallback},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mail.JoinLink(tt.pageURL, allowed, defaultPage, token)
			if err != nil {
				t.Fatalf("JoinLink(%q): %v", tt.pageURL, err)
			}
			if got != tt.want {
				t.Fatalf("JoinLink(%q)\n got %q\nwant %q", tt.pageURL, got, tt.want)
			}
			assertOnAllowList(t, got, allowed)
		})
	}
}

func TestJoinLink_TokenTravelsInTheFragmentOnly(t *testing.T) {
	token := "a+b/c=d&e#f"
	got, err := mail.JoinLink("https://app.example.com/chat?x=1", []string{"https://app.example.com"}, "https://app.example.com/join", token)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	frag, err := url.ParseQuery(u.EscapedFragment())
	if err != nil {
		t.Fatal(err)
	}
	if frag.Get("join") != token {
		t.Fatalf("fragment join = %q, want %q (link %q)", frag.Get("join"), token, got)
	}
	if u.RawQuery != "x=1" {
		t.Fatalf("query = %q: the token must not reach the server", u.RawQuery)
	}
}

func TestJoinLink_DefaultJoinPageMustBeAllowListed(t *testing.T) {
	allowed := []string{"https://app.example.com"}
	for _, def := range []string{"", "https://join.example.com/", "https://app.example.com.evil.com/join", "/join"} {
		if got, err := mail.JoinLink("https://elsewhere.example.org/", allowed, def, "tok"); err == nil {
			t.Errorf("default join page %q: got link %q, want a configuration error", def, got)
		}
	}
}

func TestJoinLink_NeedsAToken(t *testing.T) {
	if _, err := mail.JoinLink("https://app.example.com/", []string{"https://app.example.com"}, "https://app.example.com/join", ""); err == nil {
		t.Fatal("want an error for an empty token")
	}
}

func assertOnAllowList(t *testing.T, link string, allowed []string) {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatalf("link %q does not parse: %v", link, err)
	}
	origin := u.Scheme + "://" + u.Host
	for _, a := range allowed {
		if origin == a || origin+"/" == a {
			return
		}
	}
	t.Fatalf("link %q has origin %q, not on the allow-list %v", link, origin, allowed)
}
