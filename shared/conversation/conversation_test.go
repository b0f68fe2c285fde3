package conversation

import (
	"strings"
	"testing"

	"github.com/invite-forward/invite-forward/shared/apperror"
)

func TestStartRequest_Normalize(t *testing.T) {
	cases := []struct {
		name string
		req  StartRequest
		code string
	}{
		{"empty is fine", StartRequest{}, ""},
		{"trimmed", StartRequest{Topic: "  Billing  ", DisplayName: " Ann "}, ""},
		{"https page", StartRequest{PageURL: "https://shop.example.com/cart?x=1"}, ""},
		{"relative page", StartRequest{PageURL: "/cart"}, "invalid_page_url"},
		{"javascript page", StartRequest{PageURL: "javascript:alert(1)"}, "invalid_page_url"},
		{"userinfo page", StartRequest{PageURL: "https://user@shop.example.com/"}, "invalid_page_url"},
		{"long topic", StartRequest{Topic: strings.Repeat("t", MaxTopicLen+1)}, "topic_too_long"},
		{"control chars in name", StartRequest{DisplayName: "Ann\x1b[31m"}, "invalid_display_name"},
		{"invalid utf8", StartRequest{Topic: "\xff"}, "invalid_topic"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.req.Normalize()
			if tc.code == "" && err != nil {
				t.Fatalf("Normalize() = %v", err)
			}
			if tc.code != "" && !apperror.Is(err, tc.code) {
				t.Fatalf("Normalize() = %v, want %s", err, tc.code)
			}
		})
	}
	r := StartRequest{Topic: "  Billing  "}
	_ = r.Normalize()
	if r.Topic != "Billing" {
		t.Fatalf("topic not trimmed: %q", r.Topic)
	}
}

func TestOriginAllowed_OnlyExactOrigins(t *testing.T) {
	allowed := []string{"https://app.example.com", "http://localhost:3000/"}
	cases := map[string]bool{
		"https://app.example.com/join?x=1":          true,
		"https://APP.example.com/":                  true,
		"http://localhost:3000/demo":                true,
		"http://app.example.com/":                   false, // scheme differs
		"https://app.example.com:8443/":             false, // port differs
		"https://app.example.com.evil.com/":         false,
		"https://evil.com/?https://app.example.com": false,
		"//app.example.com/":                        false,
		"":                                          false,
	}
	for raw, want := range cases {
		if got := OriginAllowed(raw, allowed); got != want {
			t.Errorf("OriginAllowed(%q) = %v, want %v", raw, got, want)
		}
	}
}

func TestEvent_VisitorsNeverSeeAgentOnlyEvents(t *testing.T) {
	agentsOnly := Event{Audience: AudienceAgents}
	everyone := Event{Audience: AudienceEveryone}
	if agentsOnly.VisibleTo(KindVisitor) {
		t.Fatal("a visitor sees an agents-only event")
	}
	if !agentsOnly.VisibleTo(KindAgent) || !everyone.VisibleTo(KindVisitor) || !everyone.VisibleTo(KindAgent) {
		t.Fatal("visibility too strict")
	}
}
