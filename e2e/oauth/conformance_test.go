package oauth_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/portpick"
)

// The pinned suite (e2e/node/package.json) and the scenarios that must pass.
const conformanceSuite = "node_modules/@modelcontextprotocol/conformance/dist/index.js"

var authScenarios = []string{"authorization-server-metadata-endpoint", "authorization-code-grant"}

// registerConformanceClient registers the public client the suite's
// authorization-code-grant scenario uses: it needs --client-id of a client
// whose redirect URI is http://127.0.0.1:<port>/callback, its own callback
// server.
func registerConformanceClient(t *testing.T, s *server, port int) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{
		"client_name":                "MCP conformance suite",
		"redirect_uris":              []string{fmt.Sprintf("http://127.0.0.1:%d/callback", port)},
		"token_endpoint_auth_method": "none",
		"grant_types":                []string{"authorization_code", "refresh_token"},
	})
	resp, err := http.Post(s.URL+"/register", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var reg struct {
		ClientID string `json:"client_id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&reg); err != nil || resp.StatusCode != http.StatusCreated || reg.ClientID == "" {
		t.Fatalf("register: %d %v %+v", resp.StatusCode, err, reg)
	}
	return reg.ClientID
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// TestConformanceAuthorization runs `conformance authorization` (both its
// scenarios) against the authorization server. The authorization-code-grant
// scenario has no automatic approval: it prints the authorization URL, tells
// a person to open it, and waits (up to 5 minutes) for the redirect to its
// callback server. This test is that person: it reads the URL from the
// suite's output, signs in and approves through the real login and consent
// forms, and delivers the redirect to the suite's callback.
func TestConformanceAuthorization(t *testing.T) {
	node, dir := nodeTools(t, conformanceSuite)
	s := startServer(t)
	port := portpick.Test(t).N
	clientID := registerConformanceClient(t, s, port)
	out := t.TempDir()

	ctx, cancel := context.WithTimeout(t.Context(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(dir, conformanceSuite), "authorization",
		"--url", s.URL,
		"--client-id", clientID,
		"--resource", s.MCPURL,
		"--port", fmt.Sprint(port),
		"-o", out)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "FORCE_COLOR=0")
	cmd.WaitDelay = 5 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	// Read the suite's output; answer its authorization URL like a person.
	var (
		mu       sync.Mutex
		stdout   strings.Builder
		authErrs []error
		authDone bool
	)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := ansi.ReplaceAllString(sc.Text(), "")
			mu.Lock()
			stdout.WriteString(line + "\n")
			mu.Unlock()
			if !strings.HasPrefix(line, s.URL+"/authorize?") {
				continue
			}
			err := playUser(ctx, s, strings.TrimSpace(line), port)
			mu.Lock()
			authDone = true
			if err != nil {
				authErrs = append(authErrs, err)
			}
			mu.Unlock()
			if err != nil {
				cancel() // the suite would wait minutes for a callback that won't come
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	waitErr := cmd.Wait()
	pw.Close()
	<-readDone

	mu.Lock()
	log := stdout.String()
	mu.Unlock()
	for _, err := range authErrs {
		t.Errorf("playing the user: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatalf("the suite was stopped (%v)\nstdout:\n%s\nstderr:\n%s", ctx.Err(), log, stderr.String())
	}
	if !authDone {
		t.Errorf("the suite never printed an authorization URL for %s", s.URL)
	}

	// The summary the suite prints, e.g. "✓ authorization-code-grant: 1 passed, 0 failed".
	summary := map[string]string{}
	var total string
	for _, line := range strings.Split(log, "\n") {
		for _, sc := range authScenarios {
			if strings.Contains(line, " "+sc+": ") {
				summary[sc] = strings.TrimSpace(line)
			}
		}
		if strings.HasPrefix(line, "Total: ") {
			total = line
		}
	}
	for _, sc := range authScenarios {
		line := summary[sc]
		if !regexp.MustCompile(`^✓ ` + regexp.QuoteMeta(sc) + `: [1-9]\d* passed, 0 failed$`).MatchString(line) {
			t.Errorf("scenario %s: %q", sc, line)
		} else {
			t.Log(line)
		}
	}
	if !regexp.MustCompile(`^Total: [1-9]\d* passed, 0 failed$`).MatchString(total) {
		t.Errorf("total: %q", total)
	} else {
		t.Log(total)
	}
	if waitErr != nil {
		t.Errorf("suite exit: %v", waitErr)
	}

	// The per-scenario checks it saved: every one SUCCESS (a WARNING is
	// logged; no check may fail or be skipped).
	for _, sc := range authScenarios {
		matches, _ := filepath.Glob(filepath.Join(out, "authorization-server-"+sc+"-*", "checks.json"))
		if len(matches) != 1 {
			t.Errorf("scenario %s: %d checks.json files", sc, len(matches))
			continue
		}
		data, err := os.ReadFile(matches[0])
		if err != nil {
			t.Fatal(err)
		}
		var checks []struct {
			ID           string `json:"id"`
			Status       string `json:"status"`
			ErrorMessage string `json:"errorMessage"`
		}
		if err := json.Unmarshal(data, &checks); err != nil || len(checks) == 0 {
			t.Errorf("scenario %s: checks %v %s", sc, err, data)
			continue
		}
		for _, c := range checks {
			switch c.Status {
			case "SUCCESS":
				t.Logf("%s: [%s] SUCCESS", sc, c.ID)
			case "WARNING", "INFO":
				t.Logf("%s: [%s] %s %s", sc, c.ID, c.Status, c.ErrorMessage)
			default:
				t.Errorf("%s: [%s] %s %s", sc, c.ID, c.Status, c.ErrorMessage)
			}
		}
	}
	if t.Failed() {
		t.Logf("suite stdout:\n%s\nstderr:\n%s", log, stderr.String())
	}
	if ev := s.auditEvents(); ev["token_issued"] != 1 || ev["consent_granted"] != 1 {
		t.Errorf("server audit: %v, want one consent and one token", ev)
	}
}

// playUser signs in and approves authURL in a headless browser, then
// delivers the redirect to the suite's callback server on port.
func playUser(ctx context.Context, s *server, authURL string, port int) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	back, err := newBrowser(s.URL).authorize(ctx, authURL, demoEmail, demoPassword)
	if err != nil {
		return err
	}
	if want := fmt.Sprintf("http://127.0.0.1:%d/callback", port); back.Scheme+"://"+back.Host+back.Path != want {
		return fmt.Errorf("redirected to %s, want %s", back, want)
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: loopbackOnly{http.DefaultTransport}}
	// The suite prints the URL as it starts listening: retry briefly.
	var lastErr error
	for range 20 {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, back.String(), nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("callback answered %d", resp.StatusCode)
			}
			return nil
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("deliver the redirect to the suite: %w", lastErr)
}
