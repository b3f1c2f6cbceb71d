// Package jsonstrict decodes a JSON object strictly, for security-relevant
// documents (JWT headers and claims, JWKS): duplicate member names are
// refused instead of silently keeping the last one, so two parsers can never
// disagree about what a signed document says.
package jsonstrict

import (
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
