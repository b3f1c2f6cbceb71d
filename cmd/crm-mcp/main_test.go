package main

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestSubcommands(t *testing.T) {
	tests := []struct {
		args     []string
		env      map[string]string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{[]string{"version"}, nil, 0, "crm-mcp", ""},
		{[]string{"help"}, nil, 0, "serve", ""},
		{[]string{"frobnicate"}, nil, 2, "", `unknown command "frobnicate"`},
		{[]string{"serve", "-addr", "bad"}, map[string]string{"CRM_MCP_LOG_LEVEL": "loud"}, 2, "", "2 problems"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, func(k string) string { return tt.env[k] }, &stdout, &stderr)
			if code != tt.wantCode || !strings.Contains(stdout.String(), tt.wantOut) || !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("code %d stdout %q stderr %q; want %d, %q, %q", code, stdout.String(), stderr.String(), tt.wantCode, tt.wantOut, tt.wantErr)
			}
		})
	}
}

// TestBinaryServesAndStopsOnSIGTERM builds the real binary, starts it with
// the default configuration (on a free port), checks /healthz and that
// SIGTERM ends it cleanly.
func TestBinaryServesAndStopsOnSIGTERM(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "crm-mcp")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "CRM_MCP_ADDR=127.0.0.1:0", "CRM_MCP_DATA_DIR="+t.TempDir(), "CRM_MCP_DEMO_PEOPLE=10")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	// The first start seeds the demo data and says so, then prints the
	// banner naming the listen address.
	lines := bufio.NewScanner(stdout)
	var m []string
	var seen []string
	for m == nil && lines.Scan() {
		seen = append(seen, lines.Text())
		m = regexp.MustCompile(`serving on (http://127\.0\.0\.1:\d+)`).FindStringSubmatch(lines.Text())
	}
	if m == nil {
		t.Fatalf("no banner naming the listen address in %q; stderr:\n%s", seen, stderr.String())
	}
	if !strings.Contains(strings.Join(seen, "\n"), "seeding demo data") {
		t.Errorf("first start did not report seeding: %q", seen)
	}
	go func() {
		_, _ = io.Copy(io.Discard, stdout)
		exited <- cmd.Wait()
	}()

	resp, err := http.Get(m[1] + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz = %d", resp.StatusCode)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\nstderr:\n%s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("did not exit after SIGTERM")
	}
	if !strings.Contains(stderr.String(), `"msg":"shutdown complete"`) {
		t.Errorf("no shutdown log line:\n%s", stderr.String())
	}
}
