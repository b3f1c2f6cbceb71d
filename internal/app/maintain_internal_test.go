package app

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestMaintainReport: a background pass that merged logs one INFO line, a
// failed one a WARN line with the store's error, an idle one nothing; no
// logger, no report at all.
func TestMaintainReport(t *testing.T) {
	if maintainReport(nil) != nil {
		t.Fatal("a report without a logger")
	}
	for _, c := range []struct {
		steps int
		err   error
		want  []string // substrings of the one line; none: no line
	}{
		{0, nil, nil},
		{7, nil, []string{`"level":"INFO"`, `"msg":"search indexes merged"`, `"steps":7`, `"took":`}},
		{2, errors.New("sqlite: merge search index: unavailable"), []string{`"level":"WARN"`, `"msg":"search index merge failed"`, `"steps":2`, `"error":"sqlite: merge search index: unavailable"`}},
	} {
		var buf bytes.Buffer
		maintainReport(slog.New(slog.NewJSONHandler(&buf, nil)))(c.steps, 1500*time.Millisecond, c.err)
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		if c.want == nil {
			if buf.Len() != 0 {
				t.Errorf("steps %d, err %v: logged %q, want nothing", c.steps, c.err, buf.String())
			}
			continue
		}
		if len(lines) != 1 {
			t.Errorf("steps %d, err %v: %d lines, want 1: %q", c.steps, c.err, len(lines), buf.String())
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(lines[0], w) {
				t.Errorf("steps %d, err %v: %q lacks %s", c.steps, c.err, lines[0], w)
			}
		}
	}
}
