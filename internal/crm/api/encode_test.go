package api

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/crm"
	segjson "github.com/segmentio/encoding/json"
)

// answerTypes are the types the server answers with (the Out of every
// route in NewServer).
var answerTypes = []any{
	HireResponse{}, UserInfo{}, []UserInfo{},
	crm.Activity{}, crm.Application{}, crm.Company{}, crm.Job{}, crm.Note{}, crm.Person{},
	crm.PersonInfo{}, crm.SearchResult{}, crm.Task{}, crm.Tenant{},
	[]crm.Activity{}, []crm.Application{}, []crm.Company{}, []crm.FunnelRow{}, []crm.Job{}, []crm.Note{},
	[]crm.Person{}, []crm.Placement{}, []crm.Task{}, []crm.TimelineEntry{},
}

// trickyStrings hold what encoders disagree on if they are going to:
// HTML characters, line separators, control characters, invalid UTF-8,
// quotes and backslashes, non-ASCII.
var trickyStrings = []string{
	`<tool-data> & "quoted" \ back`, "line\u2028sep\u2029para", "ctl\x00\x1f\x7f", "bad\xffutf8", "Zoë Ångström 東京 🙂", "",
}

// fill sets every field of v (recursively) from the tricky strings, with
// two elements per slice and map, so that the encoders see every field.
func fill(v reflect.Value, seed int) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(trickyStrings[seed%len(trickyStrings)])
	case reflect.Int, reflect.Int64, reflect.Int32:
		if v.Type() == reflect.TypeFor[time.Duration]() {
			v.SetInt(int64(seed) * int64(time.Second))
			return
		}
		v.SetInt(int64(seed*7919 - 3))
	case reflect.Float64, reflect.Float32:
		v.SetFloat(float64(seed) + 0.25)
	case reflect.Bool:
		v.SetBool(seed%2 == 0)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), seed+1)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fill(s.Index(i), seed+i+1)
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for i := range 2 {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			fill(k, seed+i+2)
			fill(e, seed+i+3)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Date(2026, 11, 28, 10, 0, seed, 123456789, time.UTC)))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), seed+i)
			}
		}
	}
}

// TestAnswersEncodeAsEncodingJSON: the server encodes its answers with
// segmentio's encoder and the client decodes them with segmentio's
// decoder. For every answer type, filled in completely, the bytes are the
// ones encoding/json writes, and decoding them gives what encoding/json
// decodes.
func TestAnswersEncodeAsEncodingJSON(t *testing.T) {
	for _, zero := range answerTypes {
		typ := reflect.TypeOf(zero)
		for seed := range len(trickyStrings) {
			v := reflect.New(typ)
			fill(v.Elem(), seed)
			want, err := json.Marshal(v.Interface())
			if err != nil {
				t.Fatalf("%v: encoding/json: %v", typ, err)
			}
			got, err := segjson.Marshal(v.Interface())
			if err != nil {
				t.Fatalf("%v: segmentio: %v", typ, err)
			}
			if string(got) != string(want) {
				t.Errorf("%v seed %d: segmentio wrote\n%s\nencoding/json writes\n%s", typ, seed, got, want)
				continue
			}
			std, ours := reflect.New(typ), reflect.New(typ)
			if err := json.Unmarshal(want, std.Interface()); err != nil {
				t.Fatalf("%v: encoding/json decode: %v", typ, err)
			}
			if err := decodeResponse(append(want, '\n'), ours.Interface()); err != nil {
				t.Fatalf("%v: decodeResponse: %v", typ, err)
			}
			if !reflect.DeepEqual(std.Interface(), ours.Interface()) {
				t.Errorf("%v seed %d: decodeResponse gave\n%#v\nencoding/json gives\n%#v", typ, seed, ours.Elem(), std.Elem())
			}
		}
	}
}

func TestDecodeResponseRefusesGarbage(t *testing.T) {
	for _, in := range []string{``, `{`, `{"id":1}{"id":2}`, `[1,2`, `nul`} {
		var p crm.Person
		if err := decodeResponse([]byte(in), &p); err == nil {
			t.Errorf("decodeResponse(%q) = nil, want an error", in)
		}
	}
}
