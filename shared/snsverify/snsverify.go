// Package snsverify checks that an Amazon SNS message is what SNS sent: its signature, made
// with the key of the certificate SNS names in SigningCertURL, fetched only from SNS's own
// host (https://sns.<region>.amazonaws.com/…, the topic's region) so that a forged message
// cannot point at a certificate of its own. SignatureVersion 1 (SHA1withRSA) and 2
// (SHA256withRSA) are understood. Standard library only.
package snsverify

import (
	"context"
	"crypto"
	"crypto/rsa"
	_ "crypto/sha1" // SignatureVersion 1 is SHA1withRSA, as SNS defines it
	_ "crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Message is the part of an SNS message its signature covers, with the signature's fields,
// named as in the record Lambda receives (Records[].Sns). Timestamp stays the string SNS
// signed: re-formatting a parsed time could change it.
type Message struct {
	Type             string `json:"Type"`
	MessageID        string `json:"MessageId"`
	TopicArn         string `json:"TopicArn"`
	Subject          string `json:"Subject"`
	Message          string `json:"Message"`
	Timestamp        string `json:"Timestamp"`
	SignatureVersion string `json:"SignatureVersion"`
	Signature        string `json:"Signature"`
	SigningCertURL   string `json:"SigningCertUrl"`
}

// ErrInvalid is every reason a message is not accepted as SNS's: not a notification, a
// certificate URL off SNS's host, a bad signature. A message refused so will never verify,
// however often it is retried.
var ErrInvalid = errors.New("snsverify: not a message signed by Amazon SNS")

// Verifier checks messages. Its zero value is not usable; use New.
type Verifier struct {
	client *http.Client
	now    func() time.Time

	mu    sync.Mutex
	certs map[string]*x509.Certificate // by URL: SNS signs with few certificates
}

// maxCachedCerts bounds the cache; SNS rotates its certificate rarely.
const maxCachedCerts = 16

// New returns a verifier that fetches certificates with client (nil: a client with a 3 s
// timeout). The client never follows redirects: the certificate must come from the host the
// URL names.
func New(client *http.Client) *Verifier {
	c := &http.Client{Timeout: 3 * time.Second}
	if client != nil {
		c = &http.Client{Transport: client.Transport, Timeout: client.Timeout, Jar: client.Jar}
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Verifier{client: c, now: time.Now, certs: map[string]*x509.Certificate{}}
}

// Verify checks m. ErrInvalid (wrapped with why) when it is not SNS's; another error when the
// certificate could not be fetched (worth a retry).
func (v *Verifier) Verify(ctx context.Context, m Message) error {
	if m.Type != "Notification" {
		return fmt.Errorf("%w: type %q is not a notification", ErrInvalid, m.Type)
	}
	hash, err := hashFor(m.SignatureVersion)
	if err != nil {
		return err
	}
	sig, err := base64.StdEncoding.DecodeString(m.Signature)
	if err != nil || len(sig) == 0 {
		return fmt.Errorf("%w: the signature is not base64", ErrInvalid)
	}
	certURL, err := CertURL(m.SigningCertURL, m.TopicArn)
	if err != nil {
		return err
	}
	cert, err := v.cert(ctx, certURL)
	if err != nil {
		return err
	}
	if now := v.now(); now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return fmt.Errorf("%w: the signing certificate is not valid now", ErrInvalid)
	}
	key, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("%w: the signing certificate's key is not RSA", ErrInvalid)
	}
	h := hash.New()
	h.Write([]byte(StringToSign(m)))
	if err := rsa.VerifyPKCS1v15(key, hash, h.Sum(nil), sig); err != nil {
		return fmt.Errorf("%w: the signature does not match", ErrInvalid)
	}
	return nil
}

func hashFor(version string) (crypto.Hash, error) {
	switch version {
	case "1":
		return crypto.SHA1, nil
	case "2":
		return crypto.SHA256, nil
	}
	return 0, fmt.Errorf("%w: SignatureVersion %q", ErrInvalid, version)
}

// StringToSign is what SNS signs for a notification: the name and value of each field, one per
// line, in this order, Subject only when there is one.
func StringToSign(m Message) string {
	var b strings.Builder
	field := func(name, value string) { b.WriteString(name + "\n" + value + "\n") }
	field("Message", m.Message)
	field("MessageId", m.MessageID)
	if m.Subject != "" {
		field("Subject", m.Subject)
	}
	field("Timestamp", m.Timestamp)
	field("TopicArn", m.TopicArn)
	field("Type", m.Type)
	return b.String()
}

// maxTopicName is SNS's limit on a topic's name (the ARN's last part). The pattern leaves the
// bound to a length check: a repetition bounded at 256 compiles to 256 copies of its class,
// a cost at every cold start of every function that links this package.
const maxTopicName = 256

var (
	snsHost  = regexp.MustCompile(`^sns\.([a-z0-9-]+)\.amazonaws\.com$`)
	topicArn = regexp.MustCompile(`^arn:aws[a-z-]*:sns:([a-z0-9-]+):[0-9]{12}:([A-Za-z0-9_.-]+)$`)
)

// CertURL accepts a SigningCertURL only on SNS's host for the topic's region, over HTTPS, on
// the default port, naming a .pem file: anything else is ErrInvalid, and is never fetched.
func CertURL(raw, topic string) (string, error) {
	arn := topicArn.FindStringSubmatch(topic)
	if arn == nil || len(arn[2]) > maxTopicName {
		return "", fmt.Errorf("%w: TopicArn %q is not an SNS topic", ErrInvalid, topic)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.User != nil || u.Port() != "" || u.RawQuery != "" || u.Fragment != "" ||
		!strings.HasSuffix(u.Path, ".pem") {
		return "", fmt.Errorf("%w: SigningCertURL is not an https URL of a .pem file", ErrInvalid)
	}
	host := snsHost.FindStringSubmatch(u.Hostname())
	if host == nil || host[1] != arn[1] {
		return "", fmt.Errorf("%w: SigningCertURL's host %q is not sns.%s.amazonaws.com", ErrInvalid, u.Hostname(), arn[1])
	}
	return u.String(), nil
}

// maxCertSize bounds what is read from the certificate URL.
const maxCertSize = 64 << 10

func (v *Verifier) cert(ctx context.Context, certURL string) (*x509.Certificate, error) {
	v.mu.Lock()
	cert, ok := v.certs[certURL]
	v.mu.Unlock()
	if ok {
		return cert, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, certURL, nil)
	if err != nil {
		return nil, err
	}
	res, err := v.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("snsverify: fetch the signing certificate: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("snsverify: fetch the signing certificate: HTTP %d", res.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, maxCertSize))
	if err != nil {
		return nil, fmt.Errorf("snsverify: read the signing certificate: %w", err)
	}
	block, _ := pem.Decode(body)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%w: the signing certificate is not a PEM certificate", ErrInvalid)
	}
	cert, err = x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: the signing certificate does not parse", ErrInvalid)
	}
	v.mu.Lock()
	if len(v.certs) >= maxCachedCerts {
		clear(v.certs)
	}
	v.certs[certURL] = cert
	v.mu.Unlock()
	return cert, nil
}
