package servicetoken

// ParseJWKS exposes parseJWKS to the black-box fuzz test.
var ParseJWKS = parseJWKS

// VerifiedHits reports how often v answered from its verified-token cache.
func VerifiedHits(v *Verifier) int64 { return v.verified.hits.Load() }
