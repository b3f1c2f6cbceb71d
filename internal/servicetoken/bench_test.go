package servicetoken_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/servicetoken"
)

// The three benchmarks below decide mint-per-request versus reuse (see the
// package doc): BenchmarkMint is the cost of a fresh RS256 signature per
// outbound call, BenchmarkMintReuse the cost of a cache hit, BenchmarkVerify
// what the CRM API pays per call either way.

// BenchmarkRSASignFloor and BenchmarkRSAVerifyFloor are the bare
// crypto/rsa PKCS #1 v1.5 operations on a ~600-byte input, run in the same
// invocation so the other figures can be read against them on a noisy
// machine.
func BenchmarkRSASignFloor(b *testing.B) {
	priv := keyA().Private
	sum := sha256.Sum256(make([]byte, 600))
	b.ReportAllocs()
	defer reportCPU(b, processCPU())
	for b.Loop() {
		if _, err := rsa.SignPKCS1v15(nil, priv, crypto.SHA256, sum[:]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRSAVerifyFloor(b *testing.B) {
	priv := keyA().Private
	sum := sha256.Sum256(make([]byte, 600))
	sig, _ := rsa.SignPKCS1v15(nil, priv, crypto.SHA256, sum[:])
	b.ReportAllocs()
	defer reportCPU(b, processCPU())
	for b.Loop() {
		if err := rsa.VerifyPKCS1v15(&priv.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMint(b *testing.B) {
	m := newMinter(b, mustKeys(b, keyA()), newClock(t0), servicetoken.MinterOptions{MintPerRequest: true})
	s := servicetoken.Subject{UserID: "usr_0123456789", TenantID: "tnt_0123456789", ClientID: "cli_0123456789"}
	b.ReportAllocs()
	defer reportCPU(b, processCPU())
	for b.Loop() {
		if _, err := m.Mint(b.Context(), s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMintReuse(b *testing.B) {
	m := newMinter(b, mustKeys(b, keyA()), newClock(t0), servicetoken.MinterOptions{})
	s := servicetoken.Subject{UserID: "usr_0123456789", TenantID: "tnt_0123456789", ClientID: "cli_0123456789"}
	b.ReportAllocs()
	defer reportCPU(b, processCPU())
	for b.Loop() {
		if _, err := m.Mint(b.Context(), s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMintReuseParallel: cache hits for 100 principals from all
// cores, to see whether the cache lock matters.
func BenchmarkMintReuseParallel(b *testing.B) {
	m := newMinter(b, mustKeys(b, keyA()), newClock(t0), servicetoken.MinterOptions{})
	subjects := make([]servicetoken.Subject, 100)
	for i := range subjects {
		subjects[i] = servicetoken.Subject{UserID: fmt.Sprint("usr_", i), TenantID: fmt.Sprint("tnt_", i%10)}
		if _, err := m.Mint(b.Context(), subjects[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b, processCPU())
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := m.Mint(b.Context(), subjects[i%len(subjects)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

func BenchmarkMintParallel(b *testing.B) {
	m := newMinter(b, mustKeys(b, keyA()), newClock(t0), servicetoken.MinterOptions{MintPerRequest: true})
	s := servicetoken.Subject{UserID: "usr_0123456789", TenantID: "tnt_0123456789"}
	b.ReportAllocs()
	defer reportCPU(b, processCPU())
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := m.Mint(b.Context(), s); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	clk := newClock(t0)
	keys := mustKeys(b, keyA())
	raw := mint(b, newMinter(b, keys, clk, servicetoken.MinterOptions{}), servicetoken.Subject{UserID: "usr_0123456789", TenantID: "tnt_0123456789", ClientID: "cli_0123456789"})
	v := staticVerifier(b, keys, clk)
	b.ReportAllocs()
	defer reportCPU(b, processCPU())
	for b.Loop() {
		if _, err := v.Verify(b.Context(), raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyJWKS is Verify with keys from a (cached) fetched JWKS.
func BenchmarkVerifyJWKS(b *testing.B) {
	clk := newClock(t0)
	keys := mustKeys(b, keyA())
	srv := newJWKSServer(b, keys.JWKS())
	v := jwksVerifier(b, srv.URL, clk, servicetoken.VerifierOptions{})
	raw := mint(b, newMinter(b, keys, clk, servicetoken.MinterOptions{}), servicetoken.Subject{UserID: "usr_0123456789", TenantID: "tnt_0123456789"})
	if _, err := v.Verify(b.Context(), raw); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	defer reportCPU(b, processCPU())
	for b.Loop() {
		if _, err := v.Verify(b.Context(), raw); err != nil {
			b.Fatal(err)
		}
	}
}

// reportCPU reports the process CPU time per operation since start
// (cpu-ns/op; with RunParallel, summed over all cores).
func reportCPU(b *testing.B, start time.Duration) {
	if b.N > 0 && start > 0 {
		b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
	}
}
