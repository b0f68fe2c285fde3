package invitation

import "testing"

// BenchmarkNewPIN: PIN generation draws from crypto/rand with rejection sampling; it runs
// once per PIN and on every collision retry, so it must stay in the microseconds.
func BenchmarkNewPIN(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = NewPIN(DefaultPINLength)
	}
}

// BenchmarkPINKeyHash: every redemption attempt hashes the typed PIN before looking it up.
func BenchmarkPINKeyHash(b *testing.B) {
	key, err := NewPINKey([]byte("benchmark-secret-0123456789abcdef0123456789abcdef"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = key.Hash("123456789")
	}
}
