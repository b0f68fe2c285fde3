package snsverify_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/shared/snsverify"
)

const (
	topic   = "arn:aws:sns:eu-central-1:123456789012:invite-forward-ses-events"
	certURL = "https://sns.eu-central-1.amazonaws.com/SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfda.pem"
)

// signer is a stand-in for SNS: its key signs, and a transport serves its certificate at
// whatever URL is asked, recording the URLs, so a test sees which ones were fetched.
type signer struct {
	key     *rsa.PrivateKey
	certPEM []byte
	mu      sync.Mutex
	fetched []string
}

func newSigner(t *testing.T, notAfter time.Time) *signer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sns.amazonaws.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &signer{key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

func (s *signer) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.fetched = append(s.fetched, r.URL.String())
	s.mu.Unlock()
	return &http.Response{StatusCode: 200, Body: io.NopCloser(bytes.NewReader(s.certPEM)), Header: http.Header{}, Request: r}, nil
}

func (s *signer) verifier() *snsverify.Verifier {
	return snsverify.New(&http.Client{Transport: s})
}

// sign fills in m's signature with the given version, as SNS does.
func (s *signer) sign(t *testing.T, m snsverify.Message, version string) snsverify.Message {
	t.Helper()
	m.SignatureVersion = version
	var digest []byte
	hash := crypto.SHA1
	if version == "2" {
		hash = crypto.SHA256
		d := sha256.Sum256([]byte(snsverify.StringToSign(m)))
		digest = d[:]
	} else {
		d := sha1.Sum([]byte(snsverify.StringToSign(m)))
		digest = d[:]
	}
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, hash, digest)
	if err != nil {
		t.Fatal(err)
	}
	m.Signature = base64.StdEncoding.EncodeToString(sig)
	return m
}

func notification() snsverify.Message {
	return snsverify.Message{
		Type: "Notification", MessageID: "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324", TopicArn: topic,
		Message:   `{"eventType":"Delivery","mail":{"messageId":"0100019a-x-000000"}}`,
		Timestamp: "2026-12-03T07:00:00.123Z", SigningCertURL: certURL,
	}
}

func TestVerify_AcceptsSNSsSignatureVersions1And2(t *testing.T) {
	s := newSigner(t, time.Now().Add(time.Hour))
	v := s.verifier()
	for _, version := range []string{"1", "2"} {
		m := s.sign(t, notification(), version)
		if err := v.Verify(context.Background(), m); err != nil {
			t.Errorf("version %s: %v", version, err)
		}
		withSubject := notification()
		withSubject.Subject = "Amazon SES Email Event Notification"
		if err := v.Verify(context.Background(), s.sign(t, withSubject, version)); err != nil {
			t.Errorf("version %s with a subject: %v", version, err)
		}
	}
	if len(s.fetched) != 1 || s.fetched[0] != certURL {
		t.Errorf("fetched %v, want the certificate once (cached)", s.fetched)
	}
}

func TestVerify_RefusesATamperedMessage(t *testing.T) {
	s := newSigner(t, time.Now().Add(time.Hour))
	v := s.verifier()
	signed := s.sign(t, notification(), "2")
	for name, tamper := range map[string]func(*snsverify.Message){
		"message": func(m *snsverify.Message) {
			m.Message = `{"eventType":"Bounce","mail":{"messageId":"0100019a-x-000000"}}`
		},
		"topic":     func(m *snsverify.Message) { m.TopicArn = "arn:aws:sns:eu-central-1:123456789012:other" },
		"timestamp": func(m *snsverify.Message) { m.Timestamp = "2026-12-03T07:00:01.123Z" },
		"subject":   func(m *snsverify.Message) { m.Subject = "added" },
		"version":   func(m *snsverify.Message) { m.SignatureVersion = "1" },
		"signature": func(m *snsverify.Message) { m.Signature = base64.StdEncoding.EncodeToString([]byte("forged")) },
		"unsigned":  func(m *snsverify.Message) { m.Signature = "" },
		"type":      func(m *snsverify.Message) { m.Type = "SubscriptionConfirmation" },
		"v3":        func(m *snsverify.Message) { m.SignatureVersion = "3" },
	} {
		m := signed
		tamper(&m)
		if err := v.Verify(context.Background(), m); !errors.Is(err, snsverify.ErrInvalid) {
			t.Errorf("%s tampered: %v, want ErrInvalid", name, err)
		}
	}
}

// TestVerify_FetchesCertificatesOnlyFromSNS: a forged message names a certificate of its own;
// nothing but https://sns.<the topic's region>.amazonaws.com/….pem is ever fetched.
func TestVerify_FetchesCertificatesOnlyFromSNS(t *testing.T) {
	s := newSigner(t, time.Now().Add(time.Hour))
	v := s.verifier()
	for _, u := range []string{
		"https://evil.example.com/SimpleNotificationService.pem",
		"https://sns.eu-central-1.amazonaws.com.evil.example.com/cert.pem",
		"https://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem", // another region than the topic's
		"http://sns.eu-central-1.amazonaws.com/SimpleNotificationService-x.pem",
		"https://sns.eu-central-1.amazonaws.com:8443/SimpleNotificationService-x.pem",
		"https://user@sns.eu-central-1.amazonaws.com/SimpleNotificationService-x.pem",
		"https://sns.eu-central-1.amazonaws.com/SimpleNotificationService-x.txt",
		"https://sns.eu-central-1.amazonaws.com/x.pem?redirect=https://evil.example.com/",
		"",
	} {
		m := notification()
		m.SigningCertURL = u
		m = s.sign(t, m, "2")
		if err := v.Verify(context.Background(), m); !errors.Is(err, snsverify.ErrInvalid) {
			t.Errorf("%q: %v, want ErrInvalid", u, err)
		}
	}
	if len(s.fetched) != 0 {
		t.Fatalf("fetched %v", s.fetched)
	}
}

func TestVerify_RefusesAnExpiredCertificate(t *testing.T) {
	s := newSigner(t, time.Now().Add(-time.Minute))
	if err := s.verifier().Verify(context.Background(), s.sign(t, notification(), "2")); !errors.Is(err, snsverify.ErrInvalid) {
		t.Fatalf("expired certificate: %v", err)
	}
}

// TestVerify_ACertificateThatCannotBeFetchedIsWorthARetry: not ErrInvalid, so Lambda retries.
func TestVerify_ACertificateThatCannotBeFetchedIsWorthARetry(t *testing.T) {
	s := newSigner(t, time.Now().Add(time.Hour))
	down := snsverify.New(&http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
		return nil, errors.New("connection refused")
	})})
	err := down.Verify(context.Background(), s.sign(t, notification(), "1"))
	if err == nil || errors.Is(err, snsverify.ErrInvalid) {
		t.Fatalf("%v, want a fetch error that is not ErrInvalid", err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestCertURL_TopicNamesUpToSNSsLimit: a topic's name has 1 to 256 of SNS's characters; any
// other TopicArn is not SNS's, and its certificate URL is never trusted.
func TestCertURL_TopicNamesUpToSNSsLimit(t *testing.T) {
	const cert = "https://sns.eu-central-1.amazonaws.com/SimpleNotificationService-x.pem"
	arn := func(name string) string { return "arn:aws:sns:eu-central-1:123456789012:" + name }
	for name, ok := range map[string]bool{
		"ses-events": true, strings.Repeat("t", 256): true, "a.fifo": true,
		strings.Repeat("t", 257): false, "": false, "a b": false, "a:b": false,
	} {
		_, err := snsverify.CertURL(cert, arn(name))
		if (err == nil) != ok {
			t.Errorf("topic name of %d bytes %.20q: %v, want accepted %v", len(name), name, err, ok)
		}
	}
}
