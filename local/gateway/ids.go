package gateway

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"
)

// Identity of the local "deployment", in the shapes AWS uses. The account id is the one
// `sam local` uses too.
const (
	localRegion   = "us-east-1"
	localAccount  = "123456789012"
	localHTTPAPI  = "localhttp"
	localWSAPI    = "localws"
	httpStageName = "$default" // routes are served at the root, as on a $default stage
)

// newRequestID looks like API Gateway's and Lambda's request ids (a UUID).
func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// newConnectionID looks like API Gateway's (16 characters of base64, e.g. "L0SM9cOFvHcCIhw=").
// '+' and '/' are replaced so that an id never needs escaping in a path or a log.
func newConnectionID() string {
	b := make([]byte, 11)
	_, _ = rand.Read(b)
	return strings.NewReplacer("+", "A", "/", "B").Replace(base64.StdEncoding.EncodeToString(b))
}

// requestTime is API Gateway's requestContext.time / requestTime format.
func requestTime(t time.Time) string { return t.UTC().Format("02/Jan/2006:15:04:05 -0700") }
