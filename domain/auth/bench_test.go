package auth_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"courierd/domain/auth"
)

// BenchmarkRevocationCheck is the per-request cost of asking whether a token was
// revoked, with 10,000 live revocations held in memory (compare
// BenchmarkRevocationLookupInDatabase in storage).
func BenchmarkRevocationCheck(b *testing.B) {
	l := auth.NewRevocationList()
	now := time.Now()
	all := make([]auth.Revocation, 10_000)
	for i := range all {
		all[i] = auth.Revocation{Kind: auth.RevokeSession, Subject: uuid.New(), At: now, Until: now.Add(10 * time.Minute)}
	}
	l.Replace(all)
	p := auth.Principal{AccountID: uuid.New(), DeviceID: uuid.New(), SessionID: all[5000].Subject}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if !l.Revoked(p, now) {
				b.Fatal("the revoked session passed")
			}
		}
	})
}

func BenchmarkPasswordVerify(b *testing.B) {
	hash, err := auth.HashPassword("correct horse battery", randReader{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, _ := auth.VerifyPassword(hash, "correct horse battery"); !ok {
			b.Fatal("mismatch")
		}
	}
}

// randReader is a cheap deterministic source: salts need not be secret in a benchmark.
type randReader struct{}

func (randReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(i)
	}
	return len(p), nil
}
