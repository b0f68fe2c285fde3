package delivery_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/shared/apitest"
	"github.com/invite-forward/invite-forward/shared/delivery"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/setup"
	"github.com/invite-forward/invite-forward/shared/snsverify"
)

// fakeSNS signs like SNS and serves its certificate to the verifier's HTTP client.
type fakeSNS struct {
	key     *rsa.PrivateKey
	certPEM []byte
}

func newFakeSNS(t *testing.T) *fakeSNS {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "sns.amazonaws.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &fakeSNS{key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

func (f *fakeSNS) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Body: io.NopCloser(bytes.NewReader(f.certPEM)), Header: http.Header{}, Request: r}, nil
}

func (f *fakeSNS) message(t *testing.T, record string) snsverify.Message {
	m := snsverify.Message{
		Type: "Notification", MessageID: "5f1c1c7e-5a4e-4a53-9d0b-" + time.Now().Format("150405000000"), TopicArn: apitest.TestTopic,
		Message: record, Timestamp: time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), SignatureVersion: "2",
		SigningCertURL: "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem",
	}
	d := sha256.Sum256([]byte(snsverify.StringToSign(m)))
	sig, err := rsa.SignPKCS1v15(rand.Reader, f.key, crypto.SHA256, d[:])
	if err != nil {
		t.Fatal(err)
	}
	m.Signature = base64.StdEncoding.EncodeToString(sig)
	return m
}

// TestSignedNotifications_OnlySNSsAreApplied: in AWS the function checks every message's SNS
// signature: a signed record is applied; a tampered one, or one whose certificate is not on
// SNS's host, is rejected and changes nothing.
func TestSignedNotifications_OnlySNSsAreApplied(t *testing.T) {
	t.Parallel()
	sns := newFakeSNS(t)
	s := newScene(t, func(o *setup.Overrides) {
		o.SESEventsVerifier = snsverify.New(&http.Client{Transport: sns})
	})
	inv := s.invite()
	outcome := func(m snsverify.Message) delivery.Outcome {
		t.Helper()
		rep, err := s.api.SNS(m)
		if err != nil || len(rep.Outcomes) != 1 {
			t.Fatalf("%+v %v", rep, err)
		}
		return rep.Outcomes[0]
	}

	tampered := sns.message(t, delivered(inv.MessageID, time.Now()))
	tampered.Message = bounced(inv.MessageID, time.Now(), "Permanent", "General")
	if got := outcome(tampered); got != delivery.Rejected {
		t.Fatalf("tampered: %s, want rejected", got)
	}
	elsewhere := sns.message(t, bounced(inv.MessageID, time.Now(), "Permanent", "General"))
	elsewhere.SigningCertURL = "https://certs.example.com/SimpleNotificationService.pem"
	if got := outcome(elsewhere); got != delivery.Rejected {
		t.Fatalf("certificate off SNS's host: %s, want rejected", got)
	}
	unsigned := sns.message(t, bounced(inv.MessageID, time.Now(), "Permanent", "General"))
	unsigned.Signature = ""
	if got := outcome(unsigned); got != delivery.Rejected {
		t.Fatalf("unsigned: %s, want rejected", got)
	}
	if _, err := s.api.SESEvent(bounced(inv.MessageID, time.Now(), "Permanent", "General")); err != nil {
		t.Fatal(err)
	}
	s.wantDelivery(inv.ID, invitation.DeliverySent, "")

	if got := outcome(sns.message(t, delivered(inv.MessageID, time.Now()))); got != delivery.Applied {
		t.Fatalf("signed: %s, want applied", got)
	}
	s.wantDelivery(inv.ID, invitation.DeliveryDelivered, "")
}
