// Package conformance holds the test-only fixtures that the official MCP
// conformance suite (@modelcontextprotocol/conformance) exercises. They are
// served through crm-mcp's own transport stack (internal/mcpserver) by the
// fixtureserver command, so a passing run says something about the product's
// transport, not only about go-sdk.
//
// Nothing here is part of the product. The fixture names and payloads are
// dictated by the suite's scenarios.
//
//lint:file-ignore SA1019 the suite exercises deprecated protocol features (sampling, elicitation, logging, subscriptions).
package conformance

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Implementation names the fixture server.
var Implementation = &mcp.Implementation{Name: "crm-mcp-conformance-fixture", Version: "1.0.0"}

// StreamingTools are the fixtures that emit notifications while they run;
// mcpserver answers their calls as text/event-stream.
var StreamingTools = []string{
	"test_tool_with_logging",
	"test_tool_with_progress",
	"test_streaming_elicitation",
	"test_logging_tool",
}

// Tool, resource and prompt names the suite looks for. The Go test checks
// that every one of them is listed.
var (
	ToolNames = []string{
		"test_simple_text",
		"test_image_content",
		"test_audio_content",
		"test_embedded_resource",
		"test_multiple_content_types",
		"test_tool_with_logging",
		"test_tool_with_progress",
		"test_error_handling",
		"test_sampling",
		"test_elicitation",
		"test_elicitation_sep1034_defaults",
		"test_elicitation_sep1330_enums",
		"json_schema_2020_12_tool",
		"test_reconnection",
		"test_x_mcp_header",
		"test_missing_capability",
		"test_streaming_elicitation",
		"test_logging_tool",
		"test_trigger_tool_change",
		"test_trigger_prompt_change",
		"test_input_required_result_elicitation",
		"test_input_required_result_sampling",
		"test_input_required_result_list_roots",
		"test_input_required_result_request_state",
		"test_input_required_result_multiple_inputs",
		"test_input_required_result_multi_round",
		"test_input_required_result_tampered_state",
		"test_input_required_result_capabilities",
	}
	ResourceURIs         = []string{uriStaticText, uriStaticBinary, uriWatched}
	ResourceTemplateURIs = []string{uriTemplate}
	PromptNames          = []string{
		"test_simple_prompt",
		"test_prompt_with_arguments",
		"test_prompt_with_embedded_resource",
		"test_prompt_with_image",
		"test_input_required_result_prompt",
	}
)

const (
	uriStaticText   = "test://static-text"
	uriStaticBinary = "test://static-binary"
	uriWatched      = "test://watched-resource"
	uriTemplate     = "test://template/{id}/data"

	// 1x1 red PNG and a silent WAV, as in the suite's reference servers.
	pngBase64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
	wavBase64 = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA="
)

// ErrStatelessServerRequest is what fixtures that need a server→client
// request (sampling, elicitation) return on protocol revisions before
// 2026-07-28: a stateless server has no channel on which to receive the
// client's answer, and go-sdk rejects such requests at once.
var ErrStatelessServerRequest = errors.New("server-to-client requests are impossible on a stateless server; use protocol 2026-07-28 input-required results")

// ServerOptions returns the go-sdk options the fixtures need: completions
// and resource subscriptions. Cache hints (SEP-2549) are deliberately left to
// mcpserver's own default, so the suite checks what the product sends.
func ServerOptions() *mcp.ServerOptions {
	return &mcp.ServerOptions{
		CompletionHandler: complete,
		// resources/subscribe is acknowledged; with no session to remember it
		// in, no update can ever be delivered.
		SubscribeHandler:   func(context.Context, *mcp.SubscribeRequest) error { return nil },
		UnsubscribeHandler: func(context.Context, *mcp.UnsubscribeRequest) error { return nil },
	}
}

// Register adds every fixture to s.
func Register(s *mcp.Server) { RegisterUpdating(s, nil) }

// RegisterUpdating is Register for a server that caches its tools/list
// answer outside go-sdk (mcpserver's fast path): the fixture that changes the
// tool list at run time applies its change through update, which must run it
// and invalidate that cache (mcpserver.Server.UpdateTools). A nil update
// applies changes directly.
func RegisterUpdating(s *mcp.Server, update func(change func(*mcp.Server))) {
	if update == nil {
		update = func(change func(*mcp.Server)) { change(s) }
	}
	registerTools(s, update)
	registerMRTRTools(s)
	registerResources(s)
	registerPrompts(s)
}

func mustDecode(b64 string) []byte {
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		panic(err)
	}
	return b
}

var (
	pngData = mustDecode(pngBase64)
	wavData = mustDecode(wavBase64)
)

func text(s string) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: s}}}
}

// ---------------------------------------------------------------------------
// Tools
// ---------------------------------------------------------------------------

type noArgs struct{}

func registerTools(s *mcp.Server, update func(func(*mcp.Server))) {
	mcp.AddTool(s, &mcp.Tool{Name: "test_simple_text", Description: "Returns one text block"},
		func(context.Context, *mcp.CallToolRequest, noArgs) (*mcp.CallToolResult, any, error) {
			return text("This is a simple text response for testing."), nil, nil
		})

	mcp.AddTool(s, &mcp.Tool{Name: "test_image_content", Description: "Returns one PNG image block"},
		func(context.Context, *mcp.CallToolRequest, noArgs) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{
				&mcp.ImageContent{Data: pngData, MIMEType: "image/png"},
			}}, nil, nil
		})

	mcp.AddTool(s, &mcp.Tool{Name: "test_audio_content", Description: "Returns one WAV audio block"},
		func(context.Context, *mcp.CallToolRequest, noArgs) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{
				&mcp.AudioContent{Data: wavData, MIMEType: "audio/wav"},
			}}, nil, nil
		})

	mcp.AddTool(s, &mcp.Tool{Name: "test_embedded_resource", Description: "Returns one embedded text resource"},
		func(context.Context, *mcp.CallToolRequest, noArgs) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{
				&mcp.EmbeddedResource{Resource: &mcp.ResourceContents{
					URI: "test://embedded-resource", MIMEType: "text/plain", Text: "This is an embedded resource",
				}},
			}}, nil, nil
		})

	mcp.AddTool(s, &mcp.Tool{Name: "test_multiple_content_types", Description: "Returns text, image and resource blocks"},
		func(context.Context, *mcp.CallToolRequest, noArgs) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{
				&mcp.TextContent{Text: "This is text content"},
				&mcp.ImageContent{Data: pngData, MIMEType: "image/png"},
				&mcp.EmbeddedResource{Resource: &mcp.ResourceContents{
					URI: "test://embedded-in-multiple", MIMEType: "text/plain", Text: "This is an embedded resource",
				}},
			}}, nil, nil
		})

	mcp.AddTool(s, &mcp.Tool{Name: "test_tool_with_logging", Description: "Emits three info log messages while running"},
		func(ctx context.Context, req *mcp.CallToolRequest, _ noArgs) (*mcp.CallToolResult, any, error) {
			for i, msg := range []string{"Tool execution started", "Tool processing data", "Tool execution completed"} {
				if i > 0 {
					pause(ctx, 20*time.Millisecond)
				}
				_ = req.Session.Log(ctx, &mcp.LoggingMessageParams{Level: "info", Logger: "fixture", Data: msg})
			}
			return text("Tool with logging executed successfully"), nil, nil
		})

	mcp.AddTool(s, &mcp.Tool{Name: "test_tool_with_progress", Description: "Reports progress 0, 50, 100 of 100"},
		func(ctx context.Context, req *mcp.CallToolRequest, _ noArgs) (*mcp.CallToolResult, any, error) {
			token := req.Params.GetProgressToken()
			for _, p := range []float64{0, 50, 100} {
				if token != nil {
					_ = req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{
						ProgressToken: token, Progress: p, Total: 100,
						Message: fmt.Sprintf("Completed step %.0f of 100", p),
					})
				}
				pause(ctx, 20*time.Millisecond)
			}
			return text(fmt.Sprint(token)), nil, nil
		})

	mcp.AddTool(s, &mcp.Tool{Name: "test_error_handling", Description: "Always fails with a tool error"},
		func(context.Context, *mcp.CallToolRequest, noArgs) (*mcp.CallToolResult, any, error) {
			return nil, nil, errors.New("this tool intentionally returns an error for testing")
		})

	mcp.AddTool(s, &mcp.Tool{Name: "test_sampling", Description: "Asks the client's LLM for a completion (server-to-client request)"},
		func(ctx context.Context, req *mcp.CallToolRequest, in struct {
			Prompt string `json:"prompt" jsonschema:"the prompt to send to the LLM"`
		}) (*mcp.CallToolResult, any, error) {
			res, err := req.Session.CreateMessage(ctx, &mcp.CreateMessageParams{
				Messages:  []*mcp.SamplingMessage{{Role: "user", Content: &mcp.TextContent{Text: in.Prompt}}},
				MaxTokens: 100,
			})
			if err != nil {
				return nil, nil, fmt.Errorf("sampling: %w (%v)", ErrStatelessServerRequest, err)
			}
			reply := "(non-text response)"
			if tc, ok := res.Content.(*mcp.TextContent); ok {
				reply = tc.Text
			}
			return text("LLM response: " + reply), nil, nil
		})

	elicitTool := func(name, desc string, params func(in elicitArgs) *mcp.ElicitParams) {
		mcp.AddTool(s, &mcp.Tool{Name: name, Description: desc},
			func(ctx context.Context, req *mcp.CallToolRequest, in elicitArgs) (*mcp.CallToolResult, any, error) {
				res, err := req.Session.Elicit(ctx, params(in))
				if err != nil {
					return nil, nil, fmt.Errorf("elicitation: %w (%v)", ErrStatelessServerRequest, err)
				}
				return text(fmt.Sprintf("Elicitation result: action=%s, content=%v", res.Action, res.Content)), nil, nil
			})
	}
	elicitTool("test_elicitation", "Asks the user for a username (server-to-client request)", func(in elicitArgs) *mcp.ElicitParams {
		return &mcp.ElicitParams{Message: in.Message, RequestedSchema: objectSchema(map[string]any{
			"username": map[string]any{"type": "string", "description": "Your preferred username"},
		})}
	})
	elicitTool("test_elicitation_sep1034_defaults", "Elicitation with primitive defaults (SEP-1034)", func(elicitArgs) *mcp.ElicitParams {
		return &mcp.ElicitParams{Message: "Test defaults for primitives", RequestedSchema: json.RawMessage(sep1034Schema)}
	})
	elicitTool("test_elicitation_sep1330_enums", "Elicitation with enum schema variants (SEP-1330)", func(elicitArgs) *mcp.ElicitParams {
		return &mcp.ElicitParams{Message: "Test enum schemas", RequestedSchema: json.RawMessage(sep1330Schema)}
	})

	// SEP-1699 (server-sse-polling) wants this tool to close its SSE stream
	// mid-call and finish on a resumed GET stream. A stateless server has no
	// event store and no GET stream, so it simply answers.
	mcp.AddTool(s, &mcp.Tool{Name: "test_reconnection", Description: "Answers at once: a stateless server cannot resume streams"},
		func(context.Context, *mcp.CallToolRequest, noArgs) (*mcp.CallToolResult, any, error) {
			return text("Reconnection test completed (stateless server: no stream resumption)."), nil, nil
		})

	// SEP-1613 / SEP-2106: the schema must survive tools/list verbatim.
	mcp.AddTool(s, &mcp.Tool{
		Name:        "json_schema_2020_12_tool",
		Description: "Tool whose input schema uses JSON Schema 2020-12 features",
		InputSchema: json.RawMessage(schema202012),
	}, func(_ context.Context, _ *mcp.CallToolRequest, in json.RawMessage) (*mcp.CallToolResult, any, error) {
		return text("JSON Schema 2020-12 tool called with: " + string(in)), nil, nil
	})

	// SEP-2243: arms http-custom-header-server-validation.
	mcp.AddTool(s, &mcp.Tool{
		Name:        "test_x_mcp_header",
		Description: "Mirrors the region argument into the Mcp-Param-Region header (SEP-2243)",
		InputSchema: json.RawMessage(`{
			"type": "object",
			"properties": {
				"region": {"type": "string", "description": "mirrored into Mcp-Param-Region", "x-mcp-header": "Region"},
				"level": {"type": "integer", "description": "not mirrored"}
			}
		}`),
	}, func(_ context.Context, _ *mcp.CallToolRequest, in struct {
		Region string `json:"region,omitempty"`
		Level  int    `json:"level,omitempty"`
	}) (*mcp.CallToolResult, any, error) {
		return text("region=" + in.Region), nil, nil
	})

	// SEP-2575 diagnostics used by server-stateless.
	mcp.AddTool(s, &mcp.Tool{Name: "test_missing_capability", Description: "Requires the sampling client capability"},
		func(_ context.Context, req *mcp.CallToolRequest, _ noArgs) (*mcp.CallToolResult, any, error) {
			if caps := req.ClientCapabilities(); caps != nil && caps.Sampling != nil {
				return text("Client declared the sampling capability."), nil, nil
			}
			data, err := json.Marshal(mcp.MissingRequiredClientCapabilityData{
				RequiredCapabilities: &mcp.ClientCapabilities{Sampling: &mcp.SamplingCapabilities{}},
			})
			if err != nil {
				return nil, nil, err
			}
			return nil, nil, &jsonrpc.Error{
				Code:    mcp.CodeMissingRequiredClientCapabilities,
				Message: "this tool requires the sampling client capability",
				Data:    data,
			}
		})
	mcp.AddTool(s, &mcp.Tool{Name: "test_streaming_elicitation", Description: "Answers on a response stream that carries no server-to-client requests"},
		func(context.Context, *mcp.CallToolRequest, noArgs) (*mcp.CallToolResult, any, error) {
			return text("stream carried only the result"), nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "test_logging_tool", Description: "Tries to log; nothing is sent unless the request set a log level"},
		func(ctx context.Context, req *mcp.CallToolRequest, _ noArgs) (*mcp.CallToolResult, any, error) {
			_ = req.Session.Log(ctx, &mcp.LoggingMessageParams{Level: "info", Data: "test_logging_tool executed"})
			return text("log attempted"), nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "test_trigger_tool_change", Description: "Re-registers a tool to raise tools/list_changed"},
		func(context.Context, *mcp.CallToolRequest, noArgs) (*mcp.CallToolResult, any, error) {
			update(func(s *mcp.Server) {
				mcp.AddTool(s, &mcp.Tool{Name: "transient_tool_for_list_changed", Description: "Raises tools/list_changed"},
					func(context.Context, *mcp.CallToolRequest, noArgs) (*mcp.CallToolResult, any, error) {
						return text("transient"), nil, nil
					})
			})
			return text("tools list changed"), nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "test_trigger_prompt_change", Description: "Re-registers a prompt to raise prompts/list_changed"},
		func(context.Context, *mcp.CallToolRequest, noArgs) (*mcp.CallToolResult, any, error) {
			s.AddPrompt(&mcp.Prompt{Name: "transient_prompt_for_list_changed", Description: "Raises prompts/list_changed"},
				func(context.Context, *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
					return &mcp.GetPromptResult{Messages: []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: "transient"}}}}, nil
				})
			return text("prompts list changed"), nil, nil
		})
}

type elicitArgs struct {
	Message string `json:"message,omitempty" jsonschema:"the message to show the user"`
}

// pause sleeps for d or until ctx is done, so that notifications are spread
// out like a real long-running tool's.
func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// objectSchema is a flat elicitation schema: an object of the given
// properties, all required.
func objectSchema(props map[string]any) map[string]any {
	required := make([]string, 0, len(props))
	for name := range props {
		required = append(required, name)
	}
	slices.Sort(required)
	return map[string]any{"type": "object", "properties": props, "required": required}
}

const sep1034Schema = `{
	"type": "object",
	"properties": {
		"name": {"type": "string", "description": "User name", "default": "John Doe"},
		"age": {"type": "integer", "description": "User age", "default": 30},
		"score": {"type": "number", "description": "User score", "default": 95.5},
		"status": {"type": "string", "description": "User status", "enum": ["active", "inactive", "pending"], "default": "active"},
		"verified": {"type": "boolean", "description": "Verification status", "default": true}
	}
}`

const sep1330Schema = `{
	"type": "object",
	"properties": {
		"untitledSingle": {"type": "string", "enum": ["option1", "option2", "option3"]},
		"titledSingle": {"type": "string", "oneOf": [
			{"const": "value1", "title": "First Option"},
			{"const": "value2", "title": "Second Option"},
			{"const": "value3", "title": "Third Option"}
		]},
		"legacyEnum": {"type": "string", "enum": ["opt1", "opt2", "opt3"], "enumNames": ["Option One", "Option Two", "Option Three"]},
		"untitledMulti": {"type": "array", "minItems": 1, "maxItems": 3, "items": {"type": "string", "enum": ["option1", "option2", "option3"]}},
		"titledMulti": {"type": "array", "minItems": 1, "maxItems": 3, "items": {"anyOf": [
			{"const": "value1", "title": "First Option"},
			{"const": "value2", "title": "Second Option"},
			{"const": "value3", "title": "Third Option"}
		]}}
	}
}`

const schema202012 = `{
	"$schema": "https://json-schema.org/draft/2020-12/schema",
	"type": "object",
	"$defs": {
		"address": {
			"$anchor": "addressDef",
			"type": "object",
			"properties": {"street": {"type": "string"}, "city": {"type": "string"}}
		}
	},
	"properties": {
		"name": {"type": "string"},
		"address": {"$ref": "#/$defs/address"},
		"contactMethod": {"type": "string", "enum": ["phone", "email"]},
		"phone": {"type": "string"},
		"email": {"type": "string"}
	},
	"allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
	"if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
	"then": {"required": ["phone"]},
	"else": {"required": ["email"]},
	"additionalProperties": false
}`

// ---------------------------------------------------------------------------
// Multi-round-trip (SEP-2322) fixtures, protocol 2026-07-28
// ---------------------------------------------------------------------------

// stateKey signs requestState. A stateless server hands its state to the
// client, so it must be able to tell whether the client changed it.
var stateKey = func() []byte {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		panic(err)
	}
	return k
}()

// sealState returns payload with an HMAC-SHA256 tag: "payload.tag".
func sealState(payload string) string {
	m := hmac.New(sha256.New, stateKey)
	m.Write([]byte(payload))
	return payload + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// openState verifies a sealed state and returns its payload.
func openState(state string) (string, error) {
	i := strings.LastIndexByte(state, '.')
	if i < 0 {
		return "", errTamperedState
	}
	payload := state[:i]
	tag, err := base64.RawURLEncoding.DecodeString(state[i+1:])
	if err != nil {
		return "", errTamperedState
	}
	m := hmac.New(sha256.New, stateKey)
	m.Write([]byte(payload))
	if !hmac.Equal(tag, m.Sum(nil)) {
		return "", errTamperedState
	}
	return payload, nil
}

var errTamperedState = &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "invalid requestState: integrity check failed"}

// accepted returns the content of an accepted elicitation response, or nil.
func accepted(responses mcp.InputResponseMap, key string) map[string]any {
	r, ok := responses[key].(*mcp.ElicitResult)
	if !ok || r == nil || r.Action != "accept" {
		return nil
	}
	return r.Content
}

// sampled returns the first text of a sampling response.
func sampled(responses mcp.InputResponseMap, key string) (string, bool) {
	switch r := responses[key].(type) {
	case *mcp.CreateMessageWithToolsResult:
		if r == nil {
			return "", false
		}
		for _, c := range r.Content {
			if tc, ok := c.(*mcp.TextContent); ok {
				return tc.Text, true
			}
		}
		return "(non-text response)", true
	case *mcp.CreateMessageResult:
		if r == nil {
			return "", false
		}
		if tc, ok := r.Content.(*mcp.TextContent); ok {
			return tc.Text, true
		}
		return "(non-text response)", true
	}
	return "", false
}

func askName(msg string) *mcp.ElicitParams {
	return &mcp.ElicitParams{Message: msg, RequestedSchema: objectSchema(map[string]any{"name": map[string]any{"type": "string"}})}
}

func askConfirm() *mcp.ElicitParams {
	return &mcp.ElicitParams{Message: "Please confirm", RequestedSchema: objectSchema(map[string]any{"ok": map[string]any{"type": "boolean"}})}
}

func askSampling(prompt string, maxTokens int64) *mcp.CreateMessageParams {
	return &mcp.CreateMessageParams{
		Messages:  []*mcp.SamplingMessage{{Role: "user", Content: &mcp.TextContent{Text: prompt}}},
		MaxTokens: maxTokens,
	}
}

func inputRequired(reqs mcp.InputRequestMap, state string) *mcp.CallToolResult {
	return &mcp.CallToolResult{InputRequests: reqs, RequestState: state}
}

func registerMRTRTools(s *mcp.Server) {
	mrtr := func(name, desc string, h func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error)) {
		mcp.AddTool(s, &mcp.Tool{Name: name, Description: desc},
			func(ctx context.Context, req *mcp.CallToolRequest, _ noArgs) (*mcp.CallToolResult, any, error) {
				res, err := h(ctx, req)
				return res, nil, err
			})
	}

	mrtr("test_input_required_result_elicitation", "Asks for the caller's name via an input-required result",
		func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			if name, _ := accepted(req.Params.InputResponses, "user_name")["name"].(string); name != "" {
				return text(fmt.Sprintf("Hello, %s!", name)), nil
			}
			return inputRequired(mcp.InputRequestMap{"user_name": askName("What is your name?")}, ""), nil
		})

	mrtr("test_input_required_result_sampling", "Asks for an LLM completion via an input-required result",
		func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			if reply, ok := sampled(req.Params.InputResponses, "capital_question"); ok {
				return text("Sampling response: " + reply), nil
			}
			return inputRequired(mcp.InputRequestMap{"capital_question": askSampling("What is the capital of France?", 100)}, ""), nil
		})

	mrtr("test_input_required_result_list_roots", "Asks for the client's roots via an input-required result",
		func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			if r, ok := req.Params.InputResponses["client_roots"].(*mcp.ListRootsResult); ok && r != nil {
				uris := make([]string, 0, len(r.Roots))
				for _, root := range r.Roots {
					uris = append(uris, root.URI)
				}
				return text(fmt.Sprintf("Client exposed %d root(s): %s", len(r.Roots), strings.Join(uris, ", "))), nil
			}
			return inputRequired(mcp.InputRequestMap{"client_roots": &mcp.ListRootsParams{}}, ""), nil
		})

	// requestState round-trip and tamper detection share one flow: the
	// state is sealed, and a retry whose state fails verification is an
	// invalid-params error.
	confirmFlow := func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if req.Params.RequestState != "" {
			payload, err := openState(req.Params.RequestState)
			if err != nil {
				return nil, err
			}
			if payload == "await-confirm" && accepted(req.Params.InputResponses, "confirm") != nil {
				return text("state-ok: requestState received and confirmation accepted"), nil
			}
		}
		return inputRequired(mcp.InputRequestMap{"confirm": askConfirm()}, sealState("await-confirm")), nil
	}
	mrtr("test_input_required_result_request_state", "Round-trips a signed requestState", confirmFlow)
	mrtr("test_input_required_result_tampered_state", "Rejects a requestState that fails its integrity check", confirmFlow)

	mrtr("test_input_required_result_multiple_inputs", "Asks for elicitation, sampling and roots in one round",
		func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			in := req.Params.InputResponses
			name, _ := accepted(in, "user_name")["name"].(string)
			greeting, hasGreeting := sampled(in, "greeting")
			roots, hasRoots := in["client_roots"].(*mcp.ListRootsResult)
			if name != "" && hasGreeting && hasRoots && roots != nil {
				return text(fmt.Sprintf("%s %s (%d root(s) visible)", greeting, name, len(roots.Roots))), nil
			}
			return inputRequired(mcp.InputRequestMap{
				"user_name":    askName("What is your name?"),
				"greeting":     askSampling("Generate a greeting", 50),
				"client_roots": &mcp.ListRootsParams{},
			}, sealState("multiple-inputs")), nil
		})

	mrtr("test_input_required_result_multi_round", "Two elicitation rounds carried in requestState",
		func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			if req.Params.RequestState == "" {
				return inputRequired(mcp.InputRequestMap{"step1": askName("Step 1: What is your name?")}, sealState("round=1")), nil
			}
			payload, err := openState(req.Params.RequestState)
			if err != nil {
				return nil, err
			}
			if payload == "round=1" {
				name, _ := accepted(req.Params.InputResponses, "step1")["name"].(string)
				if name == "" {
					name = "unknown"
				}
				return inputRequired(mcp.InputRequestMap{"step2": &mcp.ElicitParams{
					Message:         "Step 2: What is your favorite color?",
					RequestedSchema: objectSchema(map[string]any{"color": map[string]any{"type": "string"}}),
				}}, sealState("round=2;name="+name)), nil
			}
			name, ok := strings.CutPrefix(payload, "round=2;name=")
			if !ok {
				return nil, errTamperedState
			}
			color, _ := accepted(req.Params.InputResponses, "step2")["color"].(string)
			if color == "" {
				color = "unknown"
			}
			return text(fmt.Sprintf("Multi-round complete: %s likes %s", name, color)), nil
		})

	mrtr("test_input_required_result_capabilities", "Only asks for input kinds the client declared",
		func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			if len(req.Params.InputResponses) > 0 {
				return text("Capability-aware input requests fulfilled"), nil
			}
			caps := req.ClientCapabilities()
			reqs := mcp.InputRequestMap{}
			if caps != nil && caps.Elicitation != nil {
				reqs["user_name"] = askName("What is your name?")
			}
			if caps != nil && caps.Sampling != nil {
				reqs["greeting"] = askSampling("Generate a short greeting", 50)
			}
			if caps != nil && (caps.RootsV2 != nil || caps.Roots.ListChanged) {
				reqs["client_roots"] = &mcp.ListRootsParams{}
			}
			if len(reqs) == 0 {
				return text("No declared client capability supports an input request"), nil
			}
			return inputRequired(reqs, ""), nil
		})
}

// ---------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------

func registerResources(s *mcp.Server) {
	s.AddResource(&mcp.Resource{Name: "static-text", Description: "A static text resource", MIMEType: "text/plain", URI: uriStaticText},
		func(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{
				URI: req.Params.URI, MIMEType: "text/plain", Text: "This is the content of the static text resource.",
			}}}, nil
		})
	s.AddResource(&mcp.Resource{Name: "static-binary", Description: "A static PNG resource", MIMEType: "image/png", URI: uriStaticBinary},
		func(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{
				URI: req.Params.URI, MIMEType: "image/png", Blob: pngData,
			}}}, nil
		})
	s.AddResourceTemplate(&mcp.ResourceTemplate{Name: "template", Description: "A templated JSON resource", MIMEType: "application/json", URITemplate: uriTemplate},
		func(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			uri := req.Params.URI
			id, ok := strings.CutPrefix(uri, "test://template/")
			id, ok2 := strings.CutSuffix(id, "/data")
			if !ok || !ok2 || id == "" || strings.Contains(id, "/") {
				return nil, mcp.ResourceNotFoundError(uri)
			}
			body, err := json.Marshal(map[string]any{"id": id, "templateTest": true, "data": "Data for ID: " + id})
			if err != nil {
				return nil, err
			}
			return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{
				URI: uri, MIMEType: "application/json", Text: string(body),
			}}}, nil
		})
	s.AddResource(&mcp.Resource{Name: "watched-resource", Description: "A resource clients may subscribe to", MIMEType: "text/plain", URI: uriWatched},
		func(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{
				URI: req.Params.URI, MIMEType: "text/plain", Text: "Watched resource content",
			}}}, nil
		})
}

// ---------------------------------------------------------------------------
// Prompts and completion
// ---------------------------------------------------------------------------

func userText(s string) *mcp.PromptMessage {
	return &mcp.PromptMessage{Role: "user", Content: &mcp.TextContent{Text: s}}
}

func registerPrompts(s *mcp.Server) {
	s.AddPrompt(&mcp.Prompt{Name: "test_simple_prompt", Title: "Simple Test Prompt", Description: "A prompt without arguments"},
		func(context.Context, *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			return &mcp.GetPromptResult{Description: "A simple test prompt", Messages: []*mcp.PromptMessage{
				userText("This is a simple prompt for testing."),
			}}, nil
		})
	s.AddPrompt(&mcp.Prompt{
		Name: "test_prompt_with_arguments", Title: "Prompt With Arguments", Description: "A prompt with two required arguments",
		Arguments: []*mcp.PromptArgument{
			{Name: "arg1", Description: "First test argument", Required: true},
			{Name: "arg2", Description: "Second test argument", Required: true},
		},
	}, func(_ context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		a := req.Params.Arguments
		return &mcp.GetPromptResult{Description: "A prompt with arguments", Messages: []*mcp.PromptMessage{
			userText(fmt.Sprintf("Prompt with arguments: arg1='%s', arg2='%s'", a["arg1"], a["arg2"])),
		}}, nil
	})
	s.AddPrompt(&mcp.Prompt{
		Name: "test_prompt_with_embedded_resource", Title: "Prompt With Embedded Resource", Description: "A prompt embedding a resource",
		Arguments: []*mcp.PromptArgument{{Name: "resourceUri", Description: "URI of the resource to embed", Required: true}},
	}, func(_ context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		return &mcp.GetPromptResult{Description: "A prompt with an embedded resource", Messages: []*mcp.PromptMessage{
			{Role: "user", Content: &mcp.EmbeddedResource{Resource: &mcp.ResourceContents{
				URI: req.Params.Arguments["resourceUri"], MIMEType: "text/plain", Text: "Embedded resource content for testing.",
			}}},
			userText("Please process the embedded resource above."),
		}}, nil
	})
	s.AddPrompt(&mcp.Prompt{Name: "test_prompt_with_image", Title: "Prompt With Image", Description: "A prompt with an image"},
		func(context.Context, *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			return &mcp.GetPromptResult{Description: "A prompt with an image", Messages: []*mcp.PromptMessage{
				{Role: "user", Content: &mcp.ImageContent{Data: pngData, MIMEType: "image/png"}},
				userText("Please analyze the image above."),
			}}, nil
		})
	s.AddPrompt(&mcp.Prompt{Name: "test_input_required_result_prompt", Description: "Asks for context via an input-required result (SEP-2322)"},
		func(_ context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			if c := accepted(req.Params.InputResponses, "user_context"); c != nil {
				ctxText, _ := c["context"].(string)
				return &mcp.GetPromptResult{Description: "A prompt with elicited context", Messages: []*mcp.PromptMessage{
					userText("Context: " + ctxText),
				}}, nil
			}
			return &mcp.GetPromptResult{InputRequests: mcp.InputRequestMap{
				"user_context": &mcp.ElicitParams{
					Message:         "Please provide context for the prompt",
					RequestedSchema: objectSchema(map[string]any{"context": map[string]any{"type": "string"}}),
				},
			}}, nil
		})
}

// complete offers prefix completions for the arguments the suite asks about.
func complete(_ context.Context, req *mcp.CompleteRequest) (*mcp.CompleteResult, error) {
	var candidates []string
	switch req.Params.Argument.Name {
	case "arg1", "arg2":
		candidates = []string{"paris", "park", "party", "test", "testing"}
	case "id":
		candidates = []string{"123", "456"}
	}
	values := []string{}
	for _, c := range candidates {
		if strings.HasPrefix(c, req.Params.Argument.Value) {
			values = append(values, c)
		}
	}
	return &mcp.CompleteResult{Completion: mcp.CompletionResultDetails{Values: values, Total: len(values)}}, nil
}
