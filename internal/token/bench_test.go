package token_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/token"
)

func BenchmarkVerify(b *testing.B) {
	ring, _ := token.NewKeyRing(keyA)
	iss, _ := token.NewAccessIssuer(ring, token.AccessOptions{Issuer: issuer, Audience: audience})
	raw, _, _ := iss.Mint(token.AccessClaims{Subject: "usr_1", TenantID: "tnt_1", ClientID: "c1", Scopes: []string{"crm:read", "crm:write"}, Email: "a@example.com", FamilyID: "f1"})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := iss.Verify(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMint(b *testing.B) {
	ring, _ := token.NewKeyRing(keyA)
	iss, _ := token.NewAccessIssuer(ring, token.AccessOptions{Issuer: issuer, Audience: audience, Now: time.Now})
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := iss.Mint(token.AccessClaims{Subject: "usr_1", TenantID: "tnt_1", ClientID: "c1"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHMACFloor is the floor for Verify in the same invocation: one
// HMAC-SHA256 over a token's signing input, nothing else.
func BenchmarkHMACFloor(b *testing.B) {
	ring, _ := token.NewKeyRing(keyA)
	iss, _ := token.NewAccessIssuer(ring, token.AccessOptions{Issuer: issuer, Audience: audience})
	raw, _, _ := iss.Mint(token.AccessClaims{Subject: "usr_1", TenantID: "tnt_1", ClientID: "c1", Scopes: []string{"crm:read", "crm:write"}, Email: "a@example.com", FamilyID: "f1"})
	input := []byte(raw[:strings.LastIndexByte(raw, '.')])
	b.ReportAllocs()
	for b.Loop() {
		m := hmac.New(sha256.New, keyA.Secret)
		m.Write(input)
		_ = m.Sum(nil)
	}
}
