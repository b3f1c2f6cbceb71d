package crmtools

import (
	"fmt"
	"strings"
	"time"
)

// Text rendering. Everything rendered here ends up inside one
// outputguard boundary (newTool wraps it), and every value was sanitised
// before; the helpers only keep user text from breaking the layout.

// cellLen is the longest a table cell gets, in runes.
const cellLen = 60

// cell makes s safe for one markdown table cell: one line, no bare pipe,
// at most cellLen runes. An empty value shows as "-".
func cell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "-"
	}
	return strings.ReplaceAll(clip(s, cellLen), "|", `\|`)
}

// table renders a compact markdown table.
func table(b *strings.Builder, header []string, rows [][]string) {
	b.WriteString("| " + strings.Join(header, " | ") + " |\n")
	b.WriteString("|" + strings.Repeat("---|", len(header)) + "\n")
	for _, r := range rows {
		cs := make([]string, len(r))
		for i, c := range r {
			cs[i] = cell(c)
		}
		b.WriteString("| " + strings.Join(cs, " | ") + " |\n")
	}
}

// line writes "label: value" when value is not empty, on one line.
func line(b *strings.Builder, label, value string) {
	value = strings.Join(strings.Fields(value), " ")
	if value == "" {
		return
	}
	fmt.Fprintf(b, "%s: %s\n", label, value)
}

// block writes a multi-line user text indented under a label, so that it
// cannot pose as a heading or as our own lines.
func block(b *strings.Builder, label, value string, max int) {
	value = strings.TrimSpace(value)
	if value == "" {
		return
	}
	fmt.Fprintf(b, "%s:\n", label)
	for _, l := range strings.Split(clip(value, max), "\n") {
		b.WriteString("    " + strings.TrimRight(l, "\r") + "\n")
	}
}

// ts formats a time for output: RFC 3339 in UTC, empty for the zero time.
func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// dayOf shortens an RFC 3339 output time to its date.
func dayOf(s string) string {
	if len(s) >= 10 {
		return s[:10]
	}
	return s
}

// parseWhen reads a date (2025-01-31, midnight UTC) or an RFC 3339 time.
// field names the input in the error.
func parseWhen(field, s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Time{}, invalidf("%s must be a date like 2025-01-31 or an RFC 3339 time like 2025-01-31T14:00:00Z.", field)
}

// plural writes n and the noun, in the plural unless n is 1.
func plural(n int, noun string) string {
	switch {
	case n == 1:
		return "1 " + noun
	case noun == "person":
		noun = "people"
	case strings.HasSuffix(noun, "y"):
		noun = noun[:len(noun)-1] + "ies"
	default:
		noun += "s"
	}
	return fmt.Sprintf("%d %s", n, noun)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
