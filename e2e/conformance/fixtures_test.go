package conformance_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/crm-mcp/crm-mcp/e2e/conformance"
)

// Revisions the conformance suite is run for (run.sh).
var revisions = []string{"2025-11-25", "2026-07-28"}

// newServer serves the fixtures through mcpserver on a loopback httptest
// server, exactly as fixtureserver does.
func newServer(t *testing.T) string {
	t.Helper()
	h, err := conformance.NewHandler(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("NewHandler: %v", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/mcp", h)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts.URL + "/mcp"
}

func connect(t *testing.T, url, version string, opts *mcp.ClientOptions) *mcp.ClientSession {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c := mcp.NewClient(&mcp.Implementation{Name: "fixtures-test", Version: "1.0.0"}, opts)
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url}, &mcp.ClientSessionOptions{ProtocolVersion: version})
	if err != nil {
		t.Fatalf("connect with %s: %v", version, err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

func collect[T any](t *testing.T, what string, seq func(yield func(T, error) bool), name func(T) string) []string {
	t.Helper()
	var names []string
	for v, err := range seq {
		if err != nil {
			t.Fatalf("list %s: %v", what, err)
		}
		names = append(names, name(v))
	}
	return names
}

func requireAll(t *testing.T, what string, got, want []string) {
	t.Helper()
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("%s: %q is not listed (got %q)", what, w, got)
		}
	}
}

func resultText(t *testing.T, res *mcp.CallToolResult) string {
	t.Helper()
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// TestFixturesListed checks that every tool, resource, template and prompt
// the suite's scenarios call is listed, on both revisions, and that a few
// answers have the shape the scenarios check.
func TestFixturesListed(t *testing.T) {
	url := newServer(t)
	for _, rev := range revisions {
		t.Run(rev, func(t *testing.T) {
			cs := connect(t, url, rev, nil)
			ctx := t.Context()

			tools := map[string]*mcp.Tool{}
			for tool, err := range cs.Tools(ctx, nil) {
				if err != nil {
					t.Fatalf("list tools: %v", err)
				}
				tools[tool.Name] = tool
			}
			var toolNames []string
			for name := range tools {
				toolNames = append(toolNames, name)
			}
			requireAll(t, "tools/list", toolNames, conformance.ToolNames)
			// json-schema-2020-12 and http-custom-header-server-validation
			// read these schemas verbatim.
			if tool := tools["json_schema_2020_12_tool"]; tool != nil {
				m, _ := tool.InputSchema.(map[string]any)
				if m["$schema"] != "https://json-schema.org/draft/2020-12/schema" || m["$defs"] == nil || m["if"] == nil {
					t.Errorf("json_schema_2020_12_tool schema lost 2020-12 keywords: %v", tool.InputSchema)
				}
			}
			if tool := tools["test_x_mcp_header"]; tool != nil {
				m, _ := tool.InputSchema.(map[string]any)
				props, _ := m["properties"].(map[string]any)
				region, _ := props["region"].(map[string]any)
				if region["x-mcp-header"] != "Region" {
					t.Errorf("test_x_mcp_header schema lost x-mcp-header: %v", tool.InputSchema)
				}
			}

			requireAll(t, "resources/list",
				collect(t, "resources", cs.Resources(ctx, nil), func(r *mcp.Resource) string { return r.URI }),
				conformance.ResourceURIs)
			requireAll(t, "resources/templates/list",
				collect(t, "templates", cs.ResourceTemplates(ctx, nil), func(r *mcp.ResourceTemplate) string { return r.URITemplate }),
				conformance.ResourceTemplateURIs)
			requireAll(t, "prompts/list",
				collect(t, "prompts", cs.Prompts(ctx, nil), func(p *mcp.Prompt) string { return p.Name }),
				conformance.PromptNames)

			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "test_simple_text"})
			if err != nil || res.IsError {
				t.Fatalf("call test_simple_text: %v %+v", err, res)
			}
			if got := resultText(t, res); got != "This is a simple text response for testing." {
				t.Errorf("test_simple_text = %q", got)
			}

			rr, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "test://template/123/data"})
			if err != nil {
				t.Fatalf("read template resource: %v", err)
			}
			if len(rr.Contents) != 1 || !strings.Contains(rr.Contents[0].Text, `"id":"123"`) {
				t.Errorf("template resource = %+v", rr.Contents)
			}
		})
	}
}

// TestServerRequestsFailFast checks that, before 2026-07-28, fixtures that
// need a server-to-client request fail at once with a clear error rather
// than hang: a stateless server cannot receive the client's answer. The
// client does declare and handle sampling and elicitation, so the failure
// is the transport's, not the client's.
func TestServerRequestsFailFast(t *testing.T) {
	url := newServer(t)
	cs := connect(t, url, "2025-11-25", &mcp.ClientOptions{
		CreateMessageHandler: func(context.Context, *mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
			return &mcp.CreateMessageResult{Model: "test", Role: "assistant", Content: &mcp.TextContent{Text: "hi"}}, nil
		},
		ElicitationHandler: func(context.Context, *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"username": "alice"}}, nil
		},
	})
	for _, call := range []*mcp.CallToolParams{
		{Name: "test_sampling", Arguments: map[string]any{"prompt": "Say hi"}},
		{Name: "test_elicitation", Arguments: map[string]any{"message": "Your name?"}},
	} {
		t.Run(call.Name, func(t *testing.T) {
			const limit = 5 * time.Second
			ctx, cancel := context.WithTimeout(t.Context(), limit)
			defer cancel()
			start := time.Now()
			res, err := cs.CallTool(ctx, call)
			elapsed := time.Since(start)
			if errors.Is(err, context.DeadlineExceeded) || elapsed >= limit {
				t.Fatalf("%s hung for %v instead of failing fast", call.Name, elapsed)
			}
			if err == nil && !res.IsError {
				t.Fatalf("%s succeeded on a stateless server: %+v", call.Name, res)
			}
			msg := ""
			if err != nil {
				msg = err.Error()
			} else {
				msg = resultText(t, res)
			}
			if !strings.Contains(msg, "stateless") {
				t.Errorf("%s error does not say why it failed: %q", call.Name, msg)
			}
			t.Logf("%s failed after %v: %s", call.Name, elapsed.Round(time.Millisecond), msg)
		})
	}
}

// TestInputRequired checks the 2026-07-28 replacement for those requests:
// input-required results, answered by go-sdk's client automatically, and a
// signed requestState that rejects tampering.
func TestInputRequired(t *testing.T) {
	url := newServer(t)
	ctx := t.Context()

	t.Run("automatic", func(t *testing.T) {
		cs := connect(t, url, "2026-07-28", &mcp.ClientOptions{
			ElicitationHandler: func(context.Context, *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
				return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"name": "Alice"}}, nil
			},
		})
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "test_input_required_result_elicitation"})
		if err != nil {
			t.Fatal(err)
		}
		if got := resultText(t, res); got != "Hello, Alice!" {
			t.Errorf("result = %q, want %q", got, "Hello, Alice!")
		}
	})

	t.Run("tampered state", func(t *testing.T) {
		cs := connect(t, url, "2026-07-28", &mcp.ClientOptions{MultiRoundTrip: &mcp.MultiRoundTripOptions{Disabled: true}})
		const tool = "test_input_required_result_tampered_state"
		first, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool})
		if err != nil {
			t.Fatal(err)
		}
		if !first.NeedsInput() || first.InputRequests["confirm"] == nil || first.RequestState == "" {
			t.Fatalf("first round: want an input-required result with state, got %+v", first)
		}
		answer := mcp.InputResponseMap{"confirm": &mcp.ElicitResult{Action: "accept", Content: map[string]any{"ok": true}}}

		ok, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, InputResponses: answer, RequestState: first.RequestState})
		if err != nil || ok.NeedsInput() || !strings.HasPrefix(resultText(t, ok), "state-ok") {
			t.Fatalf("retry with genuine state: %v %+v", err, ok)
		}
		bad, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, InputResponses: answer, RequestState: first.RequestState + "-TAMPERED"})
		if err == nil {
			t.Fatalf("retry with tampered state was accepted: %+v", bad)
		}
	})
}

// TestGuardRejectsRebinding is what dns-rebinding-protection checks: a
// foreign Host or Origin on the loopback server is refused with a 4xx.
func TestGuardRejectsRebinding(t *testing.T) {
	url := newServer(t)
	for _, tc := range []struct {
		name, host, origin string
		want               int
	}{
		{"foreign host", "evil.example.com", "", http.StatusForbidden},
		{"foreign origin", "", "http://evil.example.com", http.StatusForbidden},
		{"loopback origin", "", "http://localhost:1234", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url,
				strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			req.Header.Set("MCP-Protocol-Version", "2025-11-25")
			if tc.host != "" {
				req.Host = tc.host
			}
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status = %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}
