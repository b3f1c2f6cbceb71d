package tools

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"unicode/utf8"

	"github.com/google/jsonschema-go/jsonschema"
	segjson "github.com/segmentio/encoding/json"
)

// maxDepth and errMaxDepth mirror go-sdk's internal/json: arguments nested
// deeper are refused before decoding.
const maxDepth = 1000

var errMaxDepth = fmt.Errorf("json: exceeded maximum nesting depth of %d", maxDepth)

// unmarshal decodes data as go-sdk's internal/json.Unmarshal does (the
// segmentio decoder, case-sensitive field matching, depth limit), without
// the 32 KiB read buffer its Decoder allocates per call. data must hold one
// JSON value, which is the case for everything decoded here (it comes from
// an already parsed message or from json.Marshal).
func unmarshal(data []byte, v any) error {
	if err := checkMaxDepth(data); err != nil {
		return err
	}
	_, err := segjson.Parse(data, v, segjson.DontMatchCaseInsensitiveStructFields)
	return err
}

// checkMaxDepth is go-sdk's internal/json checkMaxDepth.
func checkMaxDepth(data []byte) error {
	var (
		depth    int
		inString bool
		escaped  bool
	)
	for _, b := range data {
		if inString {
			switch {
			case escaped:
				escaped = false
			case b == '\\':
				escaped = true
			case b == '"':
				inString = false
			}
			continue
		}
		switch b {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > maxDepth {
				return errMaxDepth
			}
		case '}', ']':
			if depth > 0 {
				depth--
			}
		}
	}
	return nil
}

// decodeInput validates args against c.in and decodes them into in, with
// mcp.AddTool's results and error texts. go-sdk decodes args into a map,
// applies defaults, validates, re-marshals the map and decodes that into
// In. When the schema has no defaults, In is a plain type and args are
// canonical enough (see fastArgs), decoding args straight into In gives the
// same value, and the re-marshal and second decode are skipped.
func decodeInput(args json.RawMessage, c *compiled, in any) error {
	m := make(map[string]any)
	if len(args) > 0 {
		if err := unmarshal(args, &m); err != nil {
			return validationError(fmt.Errorf("unmarshaling arguments: %w", err))
		}
	}
	if m == nil && c.defaults {
		// "arguments": null. go-sdk v1.8.0 passes the nil map to
		// ApplyDefaults, which panics assigning a default (the process
		// crashes). Treat null as {}, as for absent arguments.
		m = make(map[string]any)
	}
	var v any = m
	if err := c.in.ApplyDefaults(&v); err != nil {
		return validationError(fmt.Errorf("applying schema defaults:\n%w", err))
	}
	if err := c.in.Validate(&v); err != nil {
		return validationError(err)
	}
	if c.direct && fastArgs(args, m) {
		if len(args) == 0 {
			return nil // go-sdk decodes "{}": nothing to set
		}
		return unmarshal(args, in)
	}
	data, err := json.Marshal(v)
	if err != nil {
		return validationError(fmt.Errorf("marshalling with defaults: %v", err))
	}
	return unmarshal(data, in)
}

// validationError is mcp.AddTool's wording for invalid arguments.
func validationError(err error) error {
	return fmt.Errorf("validating \"arguments\": %v", err)
}

// applySchema is go-sdk v1.8.0's applySchema (mcp/tool.go), with the
// buffer-free decoder.
func applySchema(data json.RawMessage, resolved *jsonschema.Resolved, forOutput bool) (json.RawMessage, error) {
	if resolved == nil {
		return data, nil
	}
	var unmarshaled any
	if !forOutput {
		v := make(map[string]any)
		if len(data) > 0 {
			if err := unmarshal(data, &v); err != nil {
				return nil, fmt.Errorf("unmarshaling arguments: %w", err)
			}
		}
		unmarshaled = v
	} else if len(data) > 0 {
		if err := unmarshal(data, &unmarshaled); err != nil {
			return nil, fmt.Errorf("unmarshaling output: %w", err)
		}
	}
	appliedDefaults := false
	if _, ok := unmarshaled.(map[string]any); ok {
		if err := resolved.ApplyDefaults(&unmarshaled); err != nil {
			return nil, fmt.Errorf("applying schema defaults:\n%w", err)
		}
		appliedDefaults = true
	} else if forOutput && unmarshaled == nil && resolved.Schema().Type == "object" {
		unmarshaled = make(map[string]any)
		if err := resolved.ApplyDefaults(&unmarshaled); err != nil {
			return nil, fmt.Errorf("applying schema defaults:\n%w", err)
		}
		appliedDefaults = true
	}
	if err := resolved.Validate(&unmarshaled); err != nil {
		return nil, err
	}
	if !appliedDefaults {
		return data, nil
	}
	out, err := json.Marshal(unmarshaled)
	if err != nil {
		return nil, fmt.Errorf("marshalling with defaults: %v", err)
	}
	return out, nil
}

// hasDefaults reports whether ApplyDefaults could change anything: whether
// s or a schema under its properties (the only ones ApplyDefaults visits)
// has a default.
func hasDefaults(s *jsonschema.Schema) bool {
	if s == nil {
		return false
	}
	if s.Default != nil {
		return true
	}
	for _, p := range s.Properties {
		if hasDefaults(p) {
			return true
		}
	}
	return false
}

var (
	jsonUnmarshalerT = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerT = reflect.TypeFor[interface{ UnmarshalText([]byte) error }]()
)

// plainType reports whether values of t decode from JSON by value only:
// no custom unmarshalers (which see the literal bytes), no interfaces, maps
// keyed by plain strings. For such a type, two JSON texts with the same
// values, keys and number literals decode to the same Go value.
func plainType(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return true
	}
	seen[t] = true
	if t.Implements(jsonUnmarshalerT) || t.Implements(textUnmarshalerT) ||
		reflect.PointerTo(t).Implements(jsonUnmarshalerT) || reflect.PointerTo(t).Implements(textUnmarshalerT) {
		return false
	}
	switch t.Kind() {
	case reflect.Bool, reflect.String,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return plainType(t.Elem(), seen)
	case reflect.Map:
		return t.Key().Kind() == reflect.String && plainType(t.Key(), seen) && plainType(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if !plainType(t.Field(i).Type, seen) {
				return false
			}
		}
		return true
	}
	return false
}

// fastArgs reports whether decoding args directly gives what decoding
// json.Marshal(m) gives, m being args decoded into a map (schema without
// defaults, so m is unchanged by ApplyDefaults). Re-marshalling m differs
// from args only in whitespace, key order, string escapes, number literals
// and duplicate keys; for a plain In only the last two matter. So it
// requires:
//   - every number to be an integer literal of at most 15 digits, which
//     float64 holds exactly and json.Marshal writes back unchanged;
//   - no duplicate keys at any level: the count of keys in args (colons
//     outside strings) equals the count of keys in m;
//   - every decoded string to be valid UTF-8, so that json.Marshal does not
//     rewrite it.
func fastArgs(args []byte, m map[string]any) bool {
	if len(args) == 0 {
		return true
	}
	if !utf8.Valid(args) || bytes.Contains(args, []byte(`\u`)) {
		// Escaped code points may be lone surrogates; take the slow path.
		return false
	}
	colons := 0
	inString, escaped := false, false
	for i := 0; i < len(args); i++ {
		b := args[i]
		if inString {
			switch {
			case escaped:
				escaped = false
			case b == '\\':
				escaped = true
			case b == '"':
				inString = false
			}
			continue
		}
		switch {
		case b == '"':
			inString = true
		case b == ':':
			colons++
		case b == '-' || (b >= '0' && b <= '9'):
			j := i
			if b == '-' {
				j++
			}
			start := j
			for j < len(args) && args[j] >= '0' && args[j] <= '9' {
				j++
			}
			if j-start > 15 {
				return false
			}
			if j < len(args) && (args[j] == '.' || args[j] == 'e' || args[j] == 'E') {
				return false
			}
			i = j - 1
		}
	}
	n, ok := countKeys(m)
	return ok && n == colons
}

// countKeys counts the object keys in a decoded JSON value and reports
// whether all its strings are valid UTF-8.
func countKeys(v any) (int, bool) {
	switch v := v.(type) {
	case map[string]any:
		n := len(v)
		for k, e := range v {
			if !utf8.ValidString(k) {
				return 0, false
			}
			c, ok := countKeys(e)
			if !ok {
				return 0, false
			}
			n += c
		}
		return n, true
	case []any:
		n := 0
		for _, e := range v {
			c, ok := countKeys(e)
			if !ok {
				return 0, false
			}
			n += c
		}
		return n, true
	case string:
		return 0, utf8.ValidString(v)
	}
	return 0, true
}
