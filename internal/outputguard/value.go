package outputguard

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// MaxDepth is how deeply SanitizeValue descends into nested maps and
// slices. The top-level value is at depth 0.
const MaxDepth = 64

var (
	// ErrTooDeep is returned by SanitizeValue for values nested deeper than
	// MaxDepth.
	ErrTooDeep = errors.New("outputguard: value nested too deeply")

	// ErrUnsupportedType is returned by SanitizeValue for a value of a type
	// it cannot walk, so that no string escapes sanitising unnoticed.
	ErrUnsupportedType = errors.New("outputguard: unsupported value type")
)

// SanitizeValue returns a copy of v with [Sanitize] applied to every
// string, including map keys, for use on structuredContent. v must have the
// shape json.Unmarshal produces for an any: nil, bool, float64,
// json.Number, string, []any and map[string]any; []string,
// map[string]string and the Go integer types are accepted too. Any other
// type yields ErrUnsupportedType, and nesting deeper than MaxDepth yields
// ErrTooDeep; the caller should then send a generic error, not v.
//
// SanitizeValue does not modify v. If two keys of one map sanitise to the
// same key, the value of the key that was already clean wins, otherwise the
// one whose original key sorts first, so the result is deterministic.
func SanitizeValue(v any) (any, error) {
	return sanitizeValue(v, 0)
}

func sanitizeValue(v any, depth int) (any, error) {
	if depth > MaxDepth {
		return nil, ErrTooDeep
	}
	switch v := v.(type) {
	case nil, bool, float64, float32, int, int8, int16, int32, int64,
		uint, uint8, uint16, uint32, uint64:
		return v, nil
	case string:
		return Sanitize(v), nil
	case json.Number:
		return json.Number(Sanitize(string(v))), nil
	case []string:
		out := make([]string, len(v))
		for i, s := range v {
			out[i] = Sanitize(s)
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			s, err := sanitizeValue(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = s
		}
		return out, nil
	case map[string]string:
		out, _ := sanitizeMap(v, depth, func(s string, _ int) (string, error) { return Sanitize(s), nil })
		return out, nil
	case map[string]any:
		out, err := sanitizeMap(v, depth, sanitizeValue)
		if err != nil {
			return nil, err
		}
		return out, nil
	}
	return nil, fmt.Errorf("sanitize %T: %w", v, ErrUnsupportedType)
}

// sanitizeMap copies m with sanitised keys and values. Keys that change
// are inserted after all clean keys, in sorted order, and never overwrite,
// which resolves collisions deterministically.
func sanitizeMap[V any](m map[string]V, depth int, value func(V, int) (V, error)) (map[string]V, error) {
	out := make(map[string]V, len(m))
	var dirty []string
	for k, e := range m {
		if Sanitize(k) != k {
			dirty = append(dirty, k)
			continue
		}
		s, err := value(e, depth+1)
		if err != nil {
			return nil, err
		}
		out[k] = s
	}
	slices.Sort(dirty)
	for _, k := range dirty {
		sk := Sanitize(k)
		if _, taken := out[sk]; taken {
			continue
		}
		s, err := value(m[k], depth+1)
		if err != nil {
			return nil, err
		}
		out[sk] = s
	}
	return out, nil
}
