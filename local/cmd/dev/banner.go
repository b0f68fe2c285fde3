package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/invite-forward/invite-forward/local/devdata"
	"github.com/invite-forward/invite-forward/local/gateway"
	"github.com/invite-forward/invite-forward/shared/directory"
	"github.com/invite-forward/invite-forward/shared/testenv/emulators"
)

// printBanner tells the developer every URL of the local stack.
func printBanner(gw *gateway.Gateway, emus *emulators.Emulators, table string, seed directory.Seed, dataDir string) {
	u := gw.URLs()
	var b strings.Builder
	line := func(name, value string) { fmt.Fprintf(&b, "  %-20s %s\n", name, value) }
	b.WriteString("\nInvite & Forward — local stack is up\n\n")
	line("Demo page", u.Demo)
	line("Join page", u.Demo+"join.html")
	line("HTTP API", u.HTTP)
	line("WebSocket API", u.WebSocket+"?ticket=<from POST /connect-ticket>")
	line("@connections", u.Management+"/@connections/{connectionId}  (WEBSOCKET_MANAGEMENT_URL)")
	line("Dev agent token", "POST "+u.Token+`  {"agentId":"ada"}`)
	line("Dev JWKS", u.JWKS+"  (issuer "+u.Issuer+", audience "+gateway.DevAudience+")")
	kept := "in memory: DEV_PERSIST=1 keeps data across restarts"
	if dataDir != "" {
		kept = "data kept in " + dataDir + "; make dev-reset starts clean"
	}
	line("DynamoDB Local", emus.DynamoDB.Endpoint+"  (table "+table+", "+kept+")")
	line("SES emulator", emus.SES.Endpoint+"  (sent mail: "+emus.SES.Endpoint+"/  JSON: "+emus.SES.Endpoint+"/store)")
	fmt.Fprintf(&b, "\n  Seeded %d agents (%s) and %d teams (%s).\n", len(seed.Agents), agentIDs(seed), len(seed.Teams), teamIDs(seed))
	fmt.Fprintf(&b, "  Sample data for events/*.json: conversation %s (ada with the customer Sam), PIN %s, and more (README, \"sam local\").\n",
		devdata.SampleConversationID, devdata.SamplePIN)
	b.WriteString("\n  Routes:\n")
	for _, r := range gw.Routes() {
		b.WriteString("    " + r + "\n")
	}
	b.WriteString("\nNext:\n")
	fmt.Fprintf(&b, "  1. Open %s in a browser: sign in as an agent, and open the customer page in another window.\n", u.Demo)
	fmt.Fprintf(&b, "  2. Invitation emails arrive at %s/ (the SES emulator); their links open the join page.\n", emus.SES.Endpoint)
	fmt.Fprintf(&b, "  3. Or use the API: curl -s -X POST %s -d '{\"agentId\":\"ada\"}' gives an agent token.\n", u.Token)
	b.WriteString("\nReady. Ctrl-C stops everything.\n\n")
	fmt.Fprint(os.Stdout, b.String())
}

func agentIDs(s directory.Seed) string {
	ids := make([]string, len(s.Agents))
	for i, a := range s.Agents {
		ids[i] = a.ID
	}
	return strings.Join(ids, ", ")
}

func teamIDs(s directory.Seed) string {
	ids := make([]string, len(s.Teams))
	for i, t := range s.Teams {
		ids[i] = t.ID
	}
	return strings.Join(ids, ", ")
}
