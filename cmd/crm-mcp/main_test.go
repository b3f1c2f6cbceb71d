package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/servicetoken"
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
		{[]string{"help"}, nil, 0, "seed", ""},
		{[]string{"frobnicate"}, nil, 2, "", `unknown command "frobnicate"`},
		{[]string{"serve", "-addr", "bad"}, map[string]string{"CRM_MCP_LOG_LEVEL": "loud"}, 2, "", "2 problems"},
		{[]string{"api", "-addr", "bad"}, map[string]string{"CRM_MCP_JWKS_URL": "http://example.com/jwks"}, 2, "", "2 problems"},
		{[]string{"seed", "-people", "0"}, map[string]string{"CRM_MCP_DEMO_TENANTS": "tnt_nope"}, 2, "", "2 problems"},
		{[]string{"api", "-h"}, nil, 0, "", "CRM_MCP_JWKS_URL"},
		{[]string{"seed", "-h"}, nil, 0, "", "CRM_MCP_DEMO_TENANTS"},
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
	bin := build(t)
	cmd := exec.Command(bin)
	cmd.Env = append(cleanEnv(), "CRM_MCP_ADDR=127.0.0.1:0", "CRM_MCP_DATA_DIR="+t.TempDir(), "CRM_MCP_DEMO_PEOPLE=10")
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

// build compiles the command into a temporary directory.
func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "crm-mcp")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// cleanEnv is the test's environment without CRM_MCP_* variables, so that
// a developer's settings (a database URL) never reach the binary under test.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CRM_MCP_") {
			env = append(env, kv)
		}
	}
	return env
}

// TestBinarySeedThenAPI: "seed" fills an empty SQLite store once (a second
// run says so and changes nothing); "api" serves it, accepting only
// service tokens signed with a key of the JWKS it is pointed at, and stops
// cleanly on SIGTERM.
func TestBinarySeedThenAPI(t *testing.T) {
	bin := build(t)
	dataDir := t.TempDir()
	env := append(cleanEnv(), "CRM_MCP_DATA_DIR="+dataDir)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	seed := func() string {
		cmd := exec.CommandContext(ctx, bin, "seed", "-people", "5", "-tenants", "tnt_acme,tnt_globex")
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("seed: %v\n%s", err, out)
		}
		return string(out)
	}
	first := seed()
	for _, want := range []string{"seeded: tnt_acme, tnt_globex (5 people each)", "alice@acme.example", "bob@globex.example"} {
		if !strings.Contains(first, want) {
			t.Errorf("first seed output lacks %q:\n%s", want, first)
		}
	}
	if strings.Contains(first, "carol@initech.example") {
		t.Errorf("first seed lists a tenant it did not seed:\n%s", first)
	}
	if second := seed(); !strings.Contains(second, "already seeded, left as they are: tnt_acme, tnt_globex") || strings.Contains(second, "seeded:") {
		t.Errorf("second seed output:\n%s", second)
	}

	// crm-mcp's side: a service-token key published as a JWKS.
	sk, err := servicetoken.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := servicetoken.NewKeys(sk)
	if err != nil {
		t.Fatal(err)
	}
	jwks := httptest.NewServer(servicetoken.JWKSHandler(keys))
	t.Cleanup(jwks.Close)
	const issuer = "https://mcp.example.com"
	minter, err := servicetoken.NewMinter(keys, servicetoken.MinterOptions{Issuer: issuer})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := minter.Mint(ctx, servicetoken.Subject{UserID: "usr_acme_alice", TenantID: "tnt_acme"})
	if err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(bin, "api")
	cmd.Env = append(env, "CRM_MCP_API_ADDR=127.0.0.1:0", "CRM_MCP_PUBLIC_URL="+issuer, "CRM_MCP_JWKS_URL="+jwks.URL)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	lines := bufio.NewScanner(stdout)
	var m []string
	for m == nil && lines.Scan() {
		m = regexp.MustCompile(`serving on (http://127\.0\.0\.1:\d+)`).FindStringSubmatch(lines.Text())
	}
	if m == nil {
		t.Fatalf("no banner naming the listen address; stderr:\n%s", stderr.String())
	}
	exited := make(chan error, 1)
	go func() {
		_, _ = io.Copy(io.Discard, stdout)
		exited <- cmd.Wait()
	}()

	client := &http.Client{Timeout: 10 * time.Second}
	fetch := func(path, tok string) (int, string) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, m[1]+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	tests := []struct {
		name, path, tok string
		want            int
		wantBody        string
	}{
		{"minted token", "/v1/tenant", tok, http.StatusOK, `"Acme Talent"`},
		{"no token", "/v1/tenant", "", http.StatusUnauthorized, ""},
		{"healthz", "/healthz", "", http.StatusOK, `"ok"`},
		{"readyz", "/readyz", "", http.StatusOK, `"ready"`},
	}
	for _, tt := range tests {
		if status, body := fetch(tt.path, tt.tok); status != tt.want || !strings.Contains(body, tt.wantBody) {
			t.Errorf("%s: GET %s = %d %s; want %d with %s", tt.name, tt.path, status, body, tt.want, tt.wantBody)
		}
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
	log := stderr.String()
	for _, want := range []string{`"msg":"shutdown complete"`, `"path":"/v1/tenant"`} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %s:\n%s", want, log)
		}
	}
	if strings.Contains(log, tok) {
		t.Error("the log contains the service token")
	}
}
