package mcpserver_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/crm-mcp/crm-mcp/internal/mcpserver"
)

type noInput struct{}

type textOut struct {
	Text string `json:"text"`
}

// newStreamTestServer serves a progress-emitting tool, a logging tool, a
// plain tool and one that asks the client to elicit (a server→client
// request).
func newStreamTestServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv, err := mcpserver.New(mcpserver.Options{
		StreamingTools: []string{"logs"},
		Guard:          mcpserver.GuardOptions{AllowLoopback: true},
		Register: func(s *mcp.Server) {
			mcp.AddTool(s, &mcp.Tool{Name: "progress"}, func(ctx context.Context, req *mcp.CallToolRequest, _ noInput) (*mcp.CallToolResult, textOut, error) {
				token := req.Params.GetProgressToken()
				for i := 1; i <= 3 && token != nil; i++ {
					if err := req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: token, Progress: float64(i), Total: 3}); err != nil {
						return nil, textOut{}, err
					}
				}
				return nil, textOut{Text: "done"}, nil
			})
			mcp.AddTool(s, &mcp.Tool{Name: "logs"}, func(ctx context.Context, req *mcp.CallToolRequest, _ noInput) (*mcp.CallToolResult, textOut, error) {
				_ = req.Session.Log(ctx, &mcp.LoggingMessageParams{Level: "info", Data: "step one"})
				return nil, textOut{Text: "logged"}, nil
			})
			mcp.AddTool(s, &mcp.Tool{Name: "plain"}, func(ctx context.Context, req *mcp.CallToolRequest, _ noInput) (*mcp.CallToolResult, textOut, error) {
				return nil, textOut{Text: "plain"}, nil
			})
			mcp.AddTool(s, &mcp.Tool{Name: "elicit"}, func(ctx context.Context, req *mcp.CallToolRequest, _ noInput) (*mcp.CallToolResult, textOut, error) {
				_, err := req.Session.Elicit(ctx, &mcp.ElicitParams{Message: "name?", RequestedSchema: map[string]any{"type": "object"}})
				if err != nil {
					return nil, textOut{}, errors.New("this tool needs to ask you a question, which a stateless server cannot do on this protocol revision")
				}
				return nil, textOut{Text: "answered"}, nil
			})
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts
}

func postMCP(t *testing.T, url, accept, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", accept)
	req.Header.Set("MCP-Protocol-Version", "2025-11-25")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestNotificationsStreamOnSSE: progress and log notifications reach the
// client on the request's SSE response; plain calls stay application/json.
func TestNotificationsStreamOnSSE(t *testing.T) {
	ts := newStreamTestServer(t)
	both := "application/json, text/event-stream"
	tests := []struct {
		name        string
		body        string
		wantType    string
		wantInBody  []string
		wantNotBody []string
	}{
		{
			name:       "progress token streams progress",
			body:       `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"progress","arguments":{},"_meta":{"progressToken":"p1"}}}`,
			wantType:   "text/event-stream",
			wantInBody: []string{`"method":"notifications/progress"`, `"progress":1`, `"progress":3`, `"text":"done"`},
		},
		{
			name:       "streaming tool streams its logs",
			body:       `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"logs","arguments":{}}}`,
			wantType:   "text/event-stream",
			wantInBody: []string{`"method":"notifications/message"`, `step one`, `"text":"logged"`},
		},
		{
			name:        "plain call is JSON",
			body:        `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"plain","arguments":{}}}`,
			wantType:    "application/json",
			wantInBody:  []string{`"text":"plain"`},
			wantNotBody: []string{"event:"},
		},
		{
			name:       "null progress token is no token",
			body:       `{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"plain","arguments":{},"_meta":{"progressToken":null}}}`,
			wantType:   "application/json",
			wantInBody: []string{`"text":"plain"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := postMCP(t, ts.URL, both, tt.body)
			if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), tt.wantType) {
				t.Fatalf("status %d Content-Type %q, want 200 %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), tt.wantType, body)
			}
			for _, want := range tt.wantInBody {
				if !strings.Contains(body, want) {
					t.Errorf("body lacks %s:\n%s", want, body)
				}
			}
			for _, not := range tt.wantNotBody {
				if strings.Contains(body, not) {
					t.Errorf("body has %s:\n%s", not, body)
				}
			}
		})
	}
}

// TestServerToClientRequestFailsFast: in stateless mode a tool that needs an
// elicitation gets an error at once and the client a clear tool error; the
// request never hangs waiting for an answer that cannot arrive.
func TestServerToClientRequestFailsFast(t *testing.T) {
	ts := newStreamTestServer(t)
	done := make(chan string, 1)
	go func() {
		_, body := postMCP(t, ts.URL, "application/json, text/event-stream",
			`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"elicit","arguments":{}}}`)
		done <- body
	}()
	select {
	case body := <-done:
		if !strings.Contains(body, `"isError":true`) || !strings.Contains(body, "stateless") {
			t.Errorf("want a tool error explaining the limitation, got %s", body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("tools/call with a server→client request hung")
	}
}
