package export_test

import (
	"encoding/csv"
	"strings"
	"testing"

	"github.com/crm-mcp/crm-mcp/internal/export"
)

func TestGuardCatalog(t *testing.T) {
	for _, c := range catalog {
		t.Run(c.id, func(t *testing.T) {
			if got := export.Guard(c.in); got != c.want {
				t.Errorf("Guard(%q) = %q, want %q", c.in, got, c.want)
			}
			if triggered(export.Guard(c.in)) {
				t.Errorf("guarded cell %q still starts with a trigger", export.Guard(c.in))
			}
			if g := export.Guard(c.in); export.Guard(g) != g {
				t.Errorf("Guard is not idempotent on %q", c.in)
			}
		})
	}
}

// TestRoundTripCatalog writes every catalog payload between two plain
// cells and parses the file with a strict RFC 4180 parser and with
// encoding/csv: each payload stays exactly one cell, equal to its guarded
// form, and no cell starts with a trigger.
func TestRoundTripCatalog(t *testing.T) {
	for _, c := range catalog {
		t.Run(c.id, func(t *testing.T) {
			data := string(export.AppendRecord(nil, []string{"before", c.in, "after"}))
			recs, err := parseStrict(data)
			if err != nil {
				t.Fatalf("strict parse of %q: %v", data, err)
			}
			if len(recs) != 1 || len(recs[0]) != 3 {
				t.Fatalf("%q parsed into %q, want one record of 3 cells", data, recs)
			}
			if recs[0][0] != "before" || recs[0][1] != c.want || recs[0][2] != "after" {
				t.Errorf("cells = %q, want [before %q after]", recs[0], c.want)
			}
			for _, cell := range recs[0] {
				if triggered(cell) {
					t.Errorf("cell %q starts with a trigger", cell)
				}
			}
			r := csv.NewReader(strings.NewReader(data))
			r.FieldsPerRecord = 3
			std, err := r.ReadAll()
			if err != nil {
				t.Fatalf("encoding/csv: %v", err)
			}
			// encoding/csv turns CRLF inside a quoted field into LF.
			if want := strings.ReplaceAll(c.want, "\r\n", "\n"); len(std) != 1 || std[0][1] != want {
				t.Errorf("encoding/csv read %q, want one record with %q", std, want)
			}
		})
	}
}

func TestAppendRecordExact(t *testing.T) {
	tests := []struct {
		name  string
		cells []string
		want  string
	}{
		{"plain", []string{"a", "b"}, "a,b\r\n"},
		{"OWASP example", []string{`=1+2";=1+2`}, `"'=1+2"";=1+2"` + "\r\n"},
		{"comma", []string{"Berlin, Germany"}, `"Berlin, Germany"` + "\r\n"},
		{"quotes doubled", []string{`say "hi"`}, `"say ""hi"""` + "\r\n"},
		{"LF kept inside quotes", []string{"a\nb"}, "\"a\nb\"\r\n"},
		{"semicolon quoted", []string{"a;=1+1"}, `"a;=1+1"` + "\r\n"},
		{"tab quoted and guarded", []string{"\t=1"}, "\"'\t=1\"\r\n"},
		{"edge space quoted", []string{" x"}, `" x"` + "\r\n"},
		{"empty cells", []string{"", ""}, ",\r\n"},
		{"one empty cell is not an empty line", []string{""}, `""` + "\r\n"},
		{"header guarded too", []string{"=id"}, "'=id\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(export.AppendRecord(nil, tt.cells)); got != tt.want {
				t.Errorf("AppendRecord(%q) = %q, want %q", tt.cells, got, tt.want)
			}
		})
	}
}

// TestOtherSeparators reads the breakout payloads the way spreadsheets of
// ";" and tab locales do: each stays one cell and no cell begins with a
// trigger (O-07).
func TestOtherSeparators(t *testing.T) {
	for _, sep := range []rune{';', '\t'} {
		for _, c := range catalog {
			data := string(export.AppendRecord(nil, []string{c.in}))
			r := csv.NewReader(strings.NewReader(data))
			r.Comma = sep
			recs, err := r.ReadAll()
			if err != nil {
				t.Fatalf("sep %q, %s: %v", sep, c.id, err)
			}
			if len(recs) != 1 || len(recs[0]) != 1 {
				t.Errorf("sep %q, %s: %q split into %q", sep, c.id, c.in, recs)
				continue
			}
			if triggered(recs[0][0]) {
				t.Errorf("sep %q, %s: cell %q starts with a trigger", sep, c.id, recs[0][0])
			}
		}
	}
}
