package tools

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestFastArgs(t *testing.T) {
	tests := []struct {
		name, args string
		want       bool
	}{
		{"absent", ``, true},
		{"null", `null`, true},
		{"empty", `{}`, true},
		{"plain", ` {"s" : "x:y,1.5e3", "i":-12, "l":[1,{"a":true}], "n":null} `, true},
		{"15 digits", `{"i":123456789012345}`, true},
		{"16 digits", `{"i":1234567890123456}`, false},
		{"negative 16 digits", `{"i":-1234567890123456}`, false},
		{"fraction", `{"f":1.0}`, false},
		{"exponent", `{"f":1e3}`, false},
		{"exponent upper", `{"f":1E3}`, false},
		{"nested number", `{"a":[{"b":2.5}]}`, false},
		{"duplicate", `{"a":1,"a":2}`, false},
		{"nested duplicate", `{"a":{"b":1,"b":1}}`, false},
		{"duplicate in array element", `{"a":[{"b":1,"b":2}]}`, false},
		{"unicode escape", `{"s":"\u00e9"}`, false},
		{"other escapes", `{"s":"a\"b\\c\n:"}`, true},
		{"invalid UTF-8", "{\"s\":\"a\xffb\"}", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m map[string]any
			if tc.args != "" {
				if err := unmarshal([]byte(tc.args), &m); err != nil {
					t.Fatal(err)
				}
			}
			if got := fastArgs([]byte(tc.args), m); got != tc.want {
				t.Errorf("fastArgs(%s) = %v, want %v", tc.args, got, tc.want)
			}
		})
	}
}

func TestPlainType(t *testing.T) {
	type rec struct {
		Next *rec
		S    []string
	}
	tests := []struct {
		v    any
		want bool
	}{
		{struct{ A, B string }{}, true},
		{rec{}, true},
		{map[string][]int{}, true},
		{[2]float32{}, true},
		{struct{ T time.Time }{}, false},
		{struct{ R json.RawMessage }{}, false},
		{struct{ A any }{}, false},
		{map[int]string{}, false},
	}
	for _, tc := range tests {
		if got := plainType(reflect.TypeOf(tc.v), map[reflect.Type]bool{}); got != tc.want {
			t.Errorf("plainType(%T) = %v, want %v", tc.v, got, tc.want)
		}
	}
}
