// Package jose holds the strict decoding shared by crm-mcp's JWT verifiers
// (access tokens, service tokens) and its JWKS parser: JSON objects whose
// duplicate member names are refused instead of silently keeping the last
// one, so two parsers can never disagree about what a signed document says;
// and the JOSE header check (RFC 7515, RFC 8725).
package jose

import (
	"encoding/base64"
	"encoding/json"
	"errors"
)

// DecodeObject decodes one JSON object into its members, rejecting
// duplicate member names (encoding/json would silently keep the last) and
// anything that is not exactly one object. Member names are matched
// exactly by the caller, so case variants ("Tenant") are simply unknown.
func DecodeObject(b []byte) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		return nil, errors.New("not an object")
	}
	if topLevelMembers(b) != len(m) {
		return nil, errors.New("duplicate member")
	}
	return m, nil
}

// topLevelMembers counts the members of the top-level object in b, which
// must be valid JSON. It allocates nothing.
func topLevelMembers(b []byte) int {
	depth, members := 0, 0
	inString, escaped, expectName := false, false, false
	for _, c := range b {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
			if depth == 1 && expectName {
				members++
				expectName = false
			}
		case '{':
			depth++
			expectName = depth == 1
		case '[':
			depth++
		case '}', ']':
			depth--
		case ',':
			expectName = depth == 1
		}
	}
	return members
}

// CheckHeader decodes a compact JWS header segment strictly and returns its
// kid. The algorithm and typ must be exactly alg and typ (explicit typing,
// RFC 8725 §3.11), the kid non-empty; crit and key-source headers (jku,
// x5u, jwk, x5c) and other processing headers are refused, since keys come
// only from the verifier's own set (RFC 8725 §2.1, §3.10; RFC 7515
// §4.1.11). The error is a short reason for logs, never for clients.
func CheckHeader(seg, alg, typ string) (string, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(seg)
	if err != nil {
		return "", errors.New("header encoding")
	}
	m, err := DecodeObject(b)
	if err != nil {
		return "", errors.New("header: " + err.Error())
	}
	var gotAlg, gotTyp, kid string
	for name, raw := range m {
		var dst *string
		switch name {
		case "alg":
			dst = &gotAlg
		case "typ":
			dst = &gotTyp
		case "kid":
			dst = &kid
		case "crit", "jku", "x5u", "jwk", "x5c", "b64", "zip", "enc":
			return "", errors.New("header " + name + " not allowed")
		default:
			continue
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return "", errors.New("header " + name)
		}
	}
	switch {
	case gotAlg != alg:
		return "", errors.New("algorithm")
	case gotTyp != typ:
		return "", errors.New("typ")
	case kid == "":
		return "", errors.New("kid")
	}
	return kid, nil
}
