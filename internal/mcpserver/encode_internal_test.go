package mcpserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestEncodeMessageAsGoSDK: encodeMessage writes what jsonrpc.EncodeMessage
// writes, for results go-sdk builds (with HTML characters, line
// separators and escapes in them), every kind of id, and errors.
func TestEncodeMessageAsGoSDK(t *testing.T) {
	results := []any{
		&mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "<tool-data nonce=\"x\">a & b\u2028c\n\"q\"</tool-data>"}},
			StructuredContent: map[string]any{"html": "<b>&amp;</b>", "n": 1.5, "list": []any{"x", nil, true}}},
		&mcp.ListToolsResult{},
		map[string]any{},
	}
	ids := []any{float64(0), float64(1), float64(-7), float64(1 << 53), "abc", "<id>", nil}
	for _, r := range results {
		for _, raw := range ids {
			id, err := jsonrpc.MakeID(raw)
			if err != nil {
				t.Fatal(err)
			}
			for _, rerr := range []error{nil, errors.New("boom")} {
				resp := &jsonrpc.Response{ID: id, Result: sdkMarshal(t, r), Error: rerr}
				want, werr := jsonrpc.EncodeMessage(resp)
				got, gerr := encodeMessage(resp)
				if (werr == nil) != (gerr == nil) || !bytes.Equal(got, want) {
					t.Errorf("id %v, err %v:\n got %s (%v)\nwant %s (%v)", raw, rerr, got, gerr, want, werr)
				}
			}
		}
	}
	// Not a response: the same as go-sdk too.
	req := &jsonrpc.Request{Method: "notifications/tools/list_changed"}
	want, _ := jsonrpc.EncodeMessage(req)
	got, _ := encodeMessage(req)
	if !bytes.Equal(got, want) {
		t.Errorf("notification: got %s, want %s", got, want)
	}
}

// sdkMarshal encodes a result as go-sdk's jsonrpc2 does (an Encoder
// without HTML escaping, the newline trimmed).
func sdkMarshal(t *testing.T, v any) json.RawMessage {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}
