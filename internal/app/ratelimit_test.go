package app_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/ratelimit/ratelimittest"
	"github.com/crm-mcp/crm-mcp/internal/state/redis/redistest"
)

const callCount = `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"count","arguments":{}}}`

// toolResult decodes a tools/call result from a JSON or SSE body.
func rlToolResult(t *testing.T, r response) (isError bool, text string) {
	t.Helper()
	body := r.body
	if strings.HasPrefix(r.header.Get("Content-Type"), "text/event-stream") {
		for line := range strings.SplitSeq(string(body), "\n") {
			if data, ok := strings.CutPrefix(line, "data: "); ok && strings.Contains(data, `"result"`) {
				body = []byte(data)
			}
		}
	}
	var msg struct {
		Result struct {
			IsError bool `json:"isError"`
			Content []struct {
				Text string `json:"text"`
			} `json:"content"`
		} `json:"result"`
	}
	if err := json.Unmarshal(body, &msg); err != nil || r.status != http.StatusOK {
		t.Fatalf("not a tool result (%d): %s", r.status, r.body)
	}
	if len(msg.Result.Content) > 0 {
		text = msg.Result.Content[0].Text
	}
	return msg.Result.IsError, text
}

// TestRateLimitToolCalls: tool calls are charged by weight per (user, tool)
// and per tenant; a refused call is a tool error telling the model when to
// retry, the tool does not run, and every transport path applies it (the
// one-shot legacy path, go-sdk's 2026-07-28 path, the SSE path).
func TestRateLimitToolCalls(t *testing.T) {
	ts := startServer(t, map[string]string{
		"CRM_MCP_RATE_LIMITS":  "mcp_tool=3/1h,mcp_tenant=5/1h",
		"CRM_MCP_TOOL_WEIGHTS": "count=2",
	})
	write := map[string]string{"MCP-Protocol-Version": "2025-06-18"}
	if isErr, _ := rlToolResult(t, ts.post(t, callCount, write)); isErr || ts.calls.Load() != 1 {
		t.Fatalf("first count call: isError %v, calls %d", isErr, ts.calls.Load())
	}
	isErr, text := rlToolResult(t, ts.post(t, callCount, write)) // 2+2 > 3
	if !isErr || !strings.Contains(text, "Wait ") || !strings.Contains(text, " seconds") {
		t.Fatalf("second count call (weight 2, 4 > 3): isError %v %q", isErr, text)
	}
	if ts.calls.Load() != 1 {
		t.Errorf("the refused call ran the tool: %d calls", ts.calls.Load())
	}
	echo := func(hdr map[string]string, body string) (bool, string) {
		return rlToolResult(t, ts.post(t, body, hdr))
	}
	legacyEcho := `{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"}}}`
	// echo has its own per-tool budget; the tenant's (5) now holds 2.
	for i := range 3 {
		if isErr, text := echo(write, legacyEcho); isErr {
			t.Fatalf("echo %d refused: %q", i, text)
		}
	}
	// Tenant budget spent (2 + 3): refused on every path.
	paths := []struct {
		name string
		hdr  map[string]string
		body string
	}{
		{"one-shot legacy", write, legacyEcho},
		{"go-sdk 2026-07-28", map[string]string{"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": "echo"},
			`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"},` + newProtocolMeta + `}}`},
		{"go-sdk SSE (progress)", write, `{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"},"_meta":{"progressToken":"p1"}}}`},
	}
	for _, p := range paths {
		if isErr, text := echo(p.hdr, p.body); !isErr || !strings.Contains(text, "Rate limit") {
			t.Errorf("%s: isError %v %q", p.name, isErr, text)
		}
	}
}

// TestRateLimitMCPUser: the per-user request limit answers 429 with
// Retry-After and a JSON-RPC error that echoes the request id.
func TestRateLimitMCPUser(t *testing.T) {
	ts := startServer(t, map[string]string{"CRM_MCP_RATE_LIMITS": "mcp_user=2/1h"})
	hdr := map[string]string{"MCP-Protocol-Version": "2025-06-18"}
	for range 2 {
		if r := ts.post(t, callCount, hdr); r.status != http.StatusOK {
			t.Fatalf("within budget: %d %s", r.status, r.body)
		}
	}
	r := ts.post(t, `{"jsonrpc":"2.0","id":"req-42","method":"tools/call","params":{"name":"count","arguments":{}}}`, hdr)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || !strings.HasPrefix(r.header.Get("RateLimit-Policy"), `"mcp_user";q=2;w=3600`) {
		t.Fatalf("3rd request: %d %v %s", r.status, r.header, r.body)
	}
	msg := r.rpc(t)
	if string(msg.ID) != `"req-42"` || msg.Error == nil || msg.Error.Code != -32029 {
		t.Errorf("body %s", r.body)
	}
	if ts.calls.Load() != 2 {
		t.Errorf("tool ran %d times, want 2", ts.calls.Load())
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func metric(t *testing.T, addr, series string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return v
		}
	}
	return ""
}

// TestRateLimitTwoInstancesRedisOutage: two app instances on one Redis
// share the /register budget (G-INV-6); with Redis killed every request is
// still limited, per instance, none takes longer than the limiter timeout
// plus the store's failure, and none answers 500 (R-01, J-08); Redis
// restarted on the same port, the instances return to it by themselves
// (J-11), as the metrics listener shows.
func TestRateLimitTwoInstancesRedisOutage(t *testing.T) {
	srv := redistest.Start(t)
	metricsAddr := freeAddr(t)
	env := map[string]string{
		"CRM_MCP_REDIS_URL":                "redis://" + srv.Addr,
		"CRM_MCP_RATE_LIMITS":              "register=4/1h",
		"CRM_MCP_RATE_LIMIT_REDIS_TIMEOUT": "75ms",
	}
	a := startServer(t, map[string]string{"CRM_MCP_REDIS_URL": env["CRM_MCP_REDIS_URL"], "CRM_MCP_RATE_LIMITS": env["CRM_MCP_RATE_LIMITS"], "CRM_MCP_METRICS_ADDR": metricsAddr})
	b := startServer(t, env)
	register := func(ts *testServer) (int, time.Duration) {
		start := time.Now()
		resp, err := http.Post(ts.URL+"/register", "application/json",
			strings.NewReader(`{"redirect_uris":["https://c.example/cb"],"token_endpoint_auth_method":"none"}`))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, time.Since(start)
	}
	for i, ts := range []*testServer{a, b, a, b} {
		if s, _ := register(ts); s != http.StatusCreated {
			t.Fatalf("registration %d: %d", i+1, s)
		}
	}
	for _, ts := range []*testServer{a, b} {
		if s, _ := register(ts); s != http.StatusTooManyRequests {
			t.Fatalf("5th registration across instances: %d, want 429", s)
		}
	}
	if v := metric(t, metricsAddr, `crm_mcp_ratelimit_decisions_total{backend="redis",policy="register",result="limited"}`); v != "1" {
		t.Errorf("limited-on-redis metric = %q, want 1", v)
	}

	srv.Stop()
	limited := 0
	for i := range 12 {
		s, took := register(a)
		if s == http.StatusInternalServerError || (s != http.StatusServiceUnavailable && s != http.StatusTooManyRequests) {
			t.Errorf("request %d with redis down: %d", i, s)
		}
		if took > time.Second {
			t.Errorf("request %d took %v", i, took)
		}
		if s == http.StatusTooManyRequests {
			limited++
		}
	}
	// Memory starts from zero: 4 pass the limiter (and fail on the store
	// with 503), 8 are refused.
	if limited != 8 {
		t.Errorf("%d of 12 limited with redis down, want 8", limited)
	}
	if v := metric(t, metricsAddr, "crm_mcp_ratelimit_fallback_active"); v != "1" {
		t.Errorf("fallback_active = %q with redis down", v)
	}

	ratelimittest.Restart(t, srv.Addr)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if s, _ := register(b); s == http.StatusCreated {
			break // the state store is back and the fresh Redis has no counters
		}
		if time.Now().After(deadline) {
			t.Fatal("instance b did not recover within 10 s of redis returning")
		}
		time.Sleep(100 * time.Millisecond)
	}
	deadline = time.Now().Add(10 * time.Second)
	for metric(t, metricsAddr, "crm_mcp_ratelimit_fallback_active") != "0" {
		register(a)
		if time.Now().After(deadline) {
			t.Fatal("instance a's limiter did not return to redis")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// 8 during the outage, more while instance a probed its way back.
	if v, _ := strconv.Atoi(metric(t, metricsAddr, `crm_mcp_ratelimit_decisions_total{backend="memory",policy="register",result="limited"}`)); v < 8 {
		t.Errorf("limited-from-memory metric = %d, want ≥ 8", v)
	}
}
