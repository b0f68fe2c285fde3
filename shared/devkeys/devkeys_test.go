package devkeys_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"go/parser"
	"go/token"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/auth"
	"github.com/invite-forward/invite-forward/shared/devkeys"
)

const (
	devIssuer   = "http://localhost:3000/dev-idp"
	devAudience = "invite-forward-local"
)

func newDevVerifier(t *testing.T, k *devkeys.Keys) *auth.AgentVerifier {
	t.Helper()
	srv := httptest.NewServer(k.Handler())
	t.Cleanup(srv.Close)
	v, err := auth.NewAgentVerifier(t.Context(), auth.AgentVerifierConfig{
		JWKSURL: srv.URL, Issuer: devIssuer, Audiences: []string{devAudience},
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustGenerate(t *testing.T) *devkeys.Keys {
	t.Helper()
	k, err := devkeys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustMint(t *testing.T, k *devkeys.Keys, agentID, audience string) string {
	t.Helper()
	tok, err := k.Mint(agentID, devIssuer, audience, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestMint_TokenVerifiesAgainstHandler(t *testing.T) {
	t.Parallel()
	k := mustGenerate(t)
	v := newDevVerifier(t, k)

	p, err := v.Verify(t.Context(), mustMint(t, k, "agent-alice", devAudience))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !p.IsAgent() || p.AgentID != "agent-alice" {
		t.Fatalf("Verify = %+v, want agent-alice", p)
	}
}

func TestMint_WrongAudienceRefused(t *testing.T) {
	t.Parallel()
	k := mustGenerate(t)
	v := newDevVerifier(t, k)

	_, err := v.Verify(t.Context(), mustMint(t, k, "agent-alice", "some-other-app"))
	if !apperror.Is(err, "token_wrong_audience") {
		t.Fatalf("Verify error = %v, want token_wrong_audience", err)
	}
}

func TestMint_OtherDevKeyRefused(t *testing.T) {
	t.Parallel()
	v := newDevVerifier(t, mustGenerate(t))

	_, err := v.Verify(t.Context(), mustMint(t, mustGenerate(t), "agent-alice", devAudience))
	if !apperror.Is(err, "token_invalid") {
		t.Fatalf("Verify error = %v, want token_invalid", err)
	}
}

func TestMint_RefusesIncompleteInput(t *testing.T) {
	t.Parallel()
	k := mustGenerate(t)
	tests := map[string]func() (string, error){
		"no agent":     func() (string, error) { return k.Mint("", devIssuer, devAudience, time.Minute) },
		"no issuer":    func() (string, error) { return k.Mint("a", "", devAudience, time.Minute) },
		"no audience":  func() (string, error) { return k.Mint("a", devIssuer, "", time.Minute) },
		"zero ttl":     func() (string, error) { return k.Mint("a", devIssuer, devAudience, 0) },
		"negative ttl": func() (string, error) { return k.Mint("a", devIssuer, devAudience, -time.Minute) },
	}
	for name, mint := range tests {
		if tok, err := mint(); err == nil {
			t.Errorf("%s: Mint = %q, want an error", name, tok)
		}
	}
}

func TestJWKS_PublishesOnlyThePublicKey(t *testing.T) {
	t.Parallel()
	k := mustGenerate(t)

	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(k.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 1 {
		t.Fatalf("JWKS has %d keys, want 1", len(set.Keys))
	}
	jwk := set.Keys[0]
	for field, want := range map[string]string{"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": k.KeyID()} {
		if jwk[field] != want {
			t.Errorf("JWK %s = %v, want %q", field, jwk[field], want)
		}
	}
	if _, ok := jwk["d"]; ok {
		t.Error("JWKS contains the private key")
	}
	if !strings.HasPrefix(k.KeyID(), "dev-") || k.KeyID() == mustGenerate(t).KeyID() {
		t.Errorf("kid %q is not a fresh dev kid", k.KeyID())
	}
}

func TestHandler_ServesJWKSToGetOnly(t *testing.T) {
	t.Parallel()
	k := mustGenerate(t)
	srv := httptest.NewServer(k.Handler())
	t.Cleanup(srv.Close)

	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" ||
		!bytes.Equal(body.Bytes(), k.JWKS()) {
		t.Fatalf("GET = %d %q %s, want 200 application/json with the JWKS", resp.StatusCode, resp.Header.Get("Content-Type"), body.Bytes())
	}

	post, err := http.Post(srv.URL, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	post.Body.Close()
	if post.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST = %d, want 405", post.StatusCode)
	}
}

func TestLoadOrCreate_TokensSurviveRestart(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state", "dev-signing-key.pem")

	first, err := devkeys.LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(path); err != nil {
		t.Fatal(err)
	} else if runtime.GOOS != "windows" && info.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v, want 0600", info.Mode().Perm())
	}
	tok := mustMint(t, first, "agent-alice", devAudience)

	restarted, err := devkeys.LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	if restarted.KeyID() != first.KeyID() || !bytes.Equal(restarted.JWKS(), first.JWKS()) {
		t.Fatal("LoadOrCreate made a new key instead of loading the saved one")
	}
	if _, err := newDevVerifier(t, restarted).Verify(t.Context(), tok); err != nil {
		t.Fatalf("token minted before the restart refused after it: %v", err)
	}
}

func TestLoadOrCreate_ConcurrentStartsAgreeOnOneKey(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "dev-signing-key.pem")

	kids := make([]string, 8)
	var wg sync.WaitGroup
	for i := range kids {
		wg.Go(func() {
			k, err := devkeys.LoadOrCreate(path)
			if err != nil {
				t.Errorf("LoadOrCreate: %v", err)
				return
			}
			kids[i] = k.KeyID()
		})
	}
	wg.Wait()
	for _, kid := range kids {
		if kid != kids[0] {
			t.Fatalf("concurrent starts got different keys: %v", kids)
		}
	}
}

func TestLoadOrCreate_RefusesAFileThatIsNotAKey(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "dev-signing-key.pem")
	if err := os.WriteFile(path, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := devkeys.LoadOrCreate(path); err == nil {
		t.Fatal("LoadOrCreate accepted a garbage key file")
	}
	if data, _ := os.ReadFile(path); string(data) != "not a key" {
		t.Fatal("LoadOrCreate overwrote an existing file")
	}
}

// TestNotImportedByDeployedFunctions keeps the promise of the package doc: a development
// signing key must never be compiled into a deployed Lambda.
func TestNotImportedByDeployedFunctions(t *testing.T) {
	t.Parallel()
	const devkeysPath = "github.com/invite-forward/invite-forward/shared/devkeys"
	root := filepath.Join("..", "..", "functions")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == devkeysPath {
				t.Errorf("%s imports devkeys; deployed functions must verify against the real provider", path)
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
}
