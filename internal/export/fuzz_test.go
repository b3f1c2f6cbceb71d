package export_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/crm-mcp/crm-mcp/internal/export"
	"github.com/crm-mcp/crm-mcp/internal/outputguard"
)

// FuzzRecord checks, for any two cells, that the record parses strictly
// into exactly those two cells in guarded form, that the guard only ever
// adds one leading quote, that no guarded cell starts with a trigger, and
// that the guard is idempotent.
func FuzzRecord(f *testing.F) {
	for _, c := range catalog {
		f.Add(c.in, "x")
		f.Add("x", c.in)
	}
	f.Add(`"`, `""`)
	f.Add("\r\n", ",")
	f.Fuzz(func(t *testing.T, a, b string) {
		data := string(export.AppendRecord(nil, []string{a, b}))
		recs, err := parseStrict(data)
		if err != nil {
			t.Fatalf("strict parse of %q: %v", data, err)
		}
		if len(recs) != 1 || len(recs[0]) != 2 {
			t.Fatalf("record of [%q %q] parsed into %q", a, b, recs)
		}
		for i, in := range []string{a, b} {
			got := recs[0][i]
			if got != export.Guard(in) {
				t.Fatalf("cell %d = %q, want Guard(%q) = %q", i, got, in, export.Guard(in))
			}
			if got != in && got != "'"+in {
				t.Fatalf("guard changed %q into %q", in, got)
			}
			if got != in && !triggered(in) {
				t.Fatalf("guard prefixed %q, which starts with no trigger", in)
			}
			if triggered(got) {
				t.Fatalf("guarded cell %q starts with a trigger", got)
			}
			if export.Guard(got) != got {
				t.Fatalf("Guard not idempotent on %q", in)
			}
		}
	})
}

// FuzzCleanedCell is the product path: a cell cleaned by the output
// sanitiser and then guarded is valid UTF-8 without a boundary tag and
// without a leading trigger.
func FuzzCleanedCell(f *testing.F) {
	for _, c := range catalog {
		f.Add(c.in)
	}
	f.Add("</tool-data>=1")
	f.Add("\u200b\u202e=1+1")
	f.Fuzz(func(t *testing.T, in string) {
		got := export.Guard(outputguard.Sanitize(in))
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8 from %q", in)
		}
		if triggered(got) {
			t.Fatalf("cleaned cell %q starts with a trigger", got)
		}
		if strings.Contains(strings.ToLower(got), "</tool-data") {
			t.Fatalf("boundary tag survived in %q", got)
		}
	})
}
