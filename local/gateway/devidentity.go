package gateway

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/invite-forward/invite-forward/shared/devkeys"
	"github.com/invite-forward/invite-forward/shared/directory"
)

// DevAudience is the audience of dev agent tokens; the gateway's verifier accepts only it.
const DevAudience = "invite-forward-local"

// devTokenTTL is long enough for a day of local work, short enough that a token pasted
// somewhere is soon useless.
const devTokenTTL = 12 * time.Hour

// devIdentity is the local stand-in for the agents' identity provider: it publishes the dev
// signing key as JWKS and mints agent tokens on request. It exists only in this gateway.
type devIdentity struct {
	keys   *devkeys.Keys
	issuer string
	urls   URLs
	log    *slog.Logger
}

// config serves GET /_dev/config: where the demo page finds the WebSocket API, which is on
// another port than the page.
func (d devIdentity) config(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]string{
		"httpApiUrl": d.urls.HTTP, "webSocketUrl": d.urls.WebSocket, "tokenUrl": d.urls.Token,
	})
}

type devTokenRequest struct {
	AgentID string `json:"agentId"`
}

type devTokenResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// token serves POST /_dev/token {"agentId"} → {"token", "expiresAt"}. Any well-formed id gets
// a token, known to the directory or not, so the API's own answers for unknown agents can be
// tried too.
func (d devIdentity) token(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		gatewayError(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	var req devTokenRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 4<<10)).Decode(&req); err != nil || !directory.ValidID(req.AgentID) {
		gatewayError(w, http.StatusBadRequest, `send {"agentId":"<agent id>"}`)
		return
	}
	tok, err := d.keys.Mint(req.AgentID, d.issuer, DevAudience, devTokenTTL)
	if err != nil {
		d.log.Error("mint dev token", "error", err.Error())
		gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	d.log.Info("dev token minted", "agentId", req.AgentID) // never the token itself
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(devTokenResponse{Token: tok, ExpiresAt: time.Now().Add(devTokenTTL).UTC().Truncate(time.Second)})
}
