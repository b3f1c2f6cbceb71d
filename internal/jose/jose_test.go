package jose_test

import (
	"testing"

	"github.com/crm-mcp/crm-mcp/internal/jose"
)

func TestDecodeObject(t *testing.T) {
	for in, want := range map[string]int{
		`{}`:                                  0,
		`{"a":1}`:                             1,
		`{"a":{"b":1,"c":2},"d":[1,{"e":3}]}`: 2,
		`{"a":"x,\"y\":1","b":2}`:             2,
		`{"a\\":1,"b":2}`:                     2,
		`{"a":"}","b":"{"}`:                   2,
	} {
		m, err := jose.DecodeObject([]byte(in))
		if err != nil || len(m) != want {
			t.Errorf("%s: %d members (%v), want %d", in, len(m), err, want)
		}
	}
	if _, err := jose.DecodeObject([]byte(`{"a":1,"a":2}`)); err == nil {
		t.Error("duplicate accepted")
	}
	if _, err := jose.DecodeObject([]byte(`{"a":1} {}`)); err == nil {
		t.Error("trailing data accepted")
	}
}
