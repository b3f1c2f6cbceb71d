package tools_test

// Differential test: the same tools registered with go-sdk's typed
// mcp.AddTool and with tools.New(...).Register must answer the same
// tools/call requests with the same bytes, and list the same schemas. Run it
// on every go-sdk upgrade.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/crm-mcp/crm-mcp/internal/tools"
)

type item struct {
	Name string `json:"name" jsonschema:"the item's name"`
	Qty  int    `json:"qty"`
}

type nested struct {
	A string `json:"a"`
	N *int   `json:"n,omitempty"`
}

// kitchen has every plain field kind; its handler echoes it, so the decoded
// value is visible in the answer.
type kitchen struct {
	S      string         `json:"s" jsonschema:"a string"`
	I      int            `json:"i" jsonschema:"an int"`
	F      float64        `json:"f,omitempty"`
	B      bool           `json:"b,omitempty"`
	I8     int8           `json:"i8,omitempty"`
	I64    int64          `json:"i64,omitempty"`
	U      uint32         `json:"u,omitempty"`
	F32    float32        `json:"f32,omitempty"`
	P      *string        `json:"p,omitempty"`
	Nested nested         `json:"nested,omitzero"`
	List   []string       `json:"list,omitempty"`
	Items  []item         `json:"items,omitempty"`
	M      map[string]int `json:"m,omitempty"`
	Arr    [2]int         `json:"arr,omitzero"`
}

// withDefaults matches defaultsSchema.
type withDefaults struct {
	Name  string `json:"name"`
	Mode  string `json:"mode,omitempty"`
	Count int    `json:"count,omitempty"`
	Opts  struct {
		Deep bool `json:"deep,omitempty"`
	} `json:"opts,omitzero"`
}

func defaultsSchema() *jsonschema.Schema {
	zero := 0.0
	return &jsonschema.Schema{
		Type: "object",
		Properties: map[string]*jsonschema.Schema{
			"name":  {Type: "string", Description: "required, no default"},
			"mode":  {Type: "string", Enum: []any{"fast", "slow"}, Default: json.RawMessage(`"fast"`)},
			"count": {Type: "integer", Minimum: &zero, Default: json.RawMessage(`3`)},
			"opts": {Type: "object", Properties: map[string]*jsonschema.Schema{
				"deep": {Type: "boolean", Default: json.RawMessage(`true`)},
			}},
		},
		Required:             []string{"name"},
		AdditionalProperties: &jsonschema.Schema{Not: &jsonschema.Schema{}},
	}
}

type result struct {
	OK bool   `json:"ok" jsonschema:"whether it worked"`
	ID string `json:"id,omitempty"`
}

// special has fields whose decoding sees the JSON literal.
type special struct {
	When time.Time       `json:"when"`
	Raw  json.RawMessage `json:"raw,omitempty"`
	Any  any             `json:"any,omitempty"`
}

type specialOut struct {
	When string `json:"when"`
	Raw  string `json:"raw"`
	Any  string `json:"any"`
}

// badOut marshals to something its inferred schema refuses.
type badOut struct {
	N int `json:"n"`
}

func (badOut) MarshalJSON() ([]byte, error) { return []byte(`{"n":"not a number"}`), nil }

type empty struct{}

// pair registers one tool both ways.
type pair func(sdk, ours *mcp.Server)

func both[In, Out any](t func() *mcp.Tool, h tools.Handler[In, Out]) pair {
	return func(sdk, ours *mcp.Server) {
		mcp.AddTool(sdk, t(), func(ctx context.Context, req *mcp.CallToolRequest, in In) (*mcp.CallToolResult, Out, error) {
			out, err := h(ctx, req, in)
			return nil, out, err
		})
		tools.New(tools.Def{Tool: t()}, h).Register(ours)
	}
}

func named(name string) func() *mcp.Tool {
	return func() *mcp.Tool { return &mcp.Tool{Name: name, Description: "test tool " + name} }
}

func echo[T any](_ context.Context, _ *mcp.CallToolRequest, in T) (T, error) { return in, nil }

var pairs = []pair{
	both(named("kitchen"), echo[kitchen]),
	both(named("echo_ptr"), func(_ context.Context, _ *mcp.CallToolRequest, in *kitchen) (*kitchen, error) { return in, nil }),
	both(func() *mcp.Tool {
		return &mcp.Tool{Name: "defaults", InputSchema: defaultsSchema(), Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true}}
	}, echo[withDefaults]),
	both(func() *mcp.Tool {
		return &mcp.Tool{Name: "map_schema", InputSchema: map[string]any{
			"type":       "object",
			"properties": map[string]any{"x": map[string]any{"type": "integer", "default": 5}},
		}, OutputSchema: json.RawMessage(`{"type":"object"}`)}
	}, echo[map[string]any]),
	both(named("special"), func(_ context.Context, _ *mcp.CallToolRequest, in special) (specialOut, error) {
		return specialOut{When: in.When.String(), Raw: string(in.Raw), Any: fmt.Sprintf("%#v", in.Any)}, nil
	}),
	both(named("fail"), func(context.Context, *mcp.CallToolRequest, empty) (result, error) {
		return result{OK: true}, errors.New("candidate c1 not found")
	}),
	both(named("rpc_error"), func(context.Context, *mcp.CallToolRequest, empty) (result, error) {
		return result{}, &jsonrpc.Error{Code: -32042, Message: "denied"}
	}),
	both(named("wrapped_rpc_error"), func(context.Context, *mcp.CallToolRequest, empty) (result, error) {
		return result{}, fmt.Errorf("call upstream: %w", &jsonrpc.Error{Code: -32042, Message: "denied"})
	}),
	both(named("zero_ptr"), func(context.Context, *mcp.CallToolRequest, empty) (*result, error) { return nil, nil }),
	both(named("zero_val"), func(context.Context, *mcp.CallToolRequest, empty) (result, error) { return result{}, nil }),
	both(named("ok"), func(context.Context, *mcp.CallToolRequest, empty) (result, error) {
		return result{OK: true, ID: "x1"}, nil
	}),
	both(named("any_nil"), func(context.Context, *mcp.CallToolRequest, any) (any, error) { return nil, nil }),
	both(named("any_echo"), func(_ context.Context, _ *mcp.CallToolRequest, in any) (any, error) { return in, nil }),
	both(named("map_nil"), func(context.Context, *mcp.CallToolRequest, empty) (map[string]int, error) { return nil, nil }),
	both(named("slice_out"), func(context.Context, *mcp.CallToolRequest, empty) ([]string, error) {
		return []string{"a", "b"}, nil
	}),
	both(named("int_out"), func(context.Context, *mcp.CallToolRequest, empty) (int64, error) { return 1 << 60, nil }),
	both(named("bad_out"), func(context.Context, *mcp.CallToolRequest, empty) (badOut, error) { return badOut{}, nil }),
	both(named("html_out"), func(context.Context, *mcp.CallToolRequest, empty) (result, error) {
		return result{ID: "<a & b>\u2028"}, nil
	}),
}

// The expected kind of answer, so that the variants provably reach the
// paths they are meant to (not, say, all failing the same way).
const (
	okResult = "ok"      // a result without isError
	isError  = "isError" // a result with isError
	rpcError = "rpc"     // a JSON-RPC error
)

type callCase struct {
	name, tool, args string // args "" = no arguments member
	want             string
}

var callCases = []callCase{
	{"kitchen full", "kitchen", `{"s":"x","i":1,"f":1.5,"b":true,"i8":-8,"i64":-64,"u":32,"f32":0.25,"p":"p","nested":{"a":"A","n":2},"list":["l"],"items":[{"name":"n","qty":1}],"m":{"k":1},"arr":[1,2]}`, okResult},
	{"kitchen minimal", "kitchen", `{"s":"x","i":1}`, okResult},
	{"kitchen whitespace and order", "kitchen", " { \"i\" : 2 ,\n\t\"s\" : \"y\" } ", okResult},
	{"missing required", "kitchen", `{"s":"x"}`, isError},
	{"empty object", "kitchen", `{}`, isError},
	{"null arguments", "kitchen", `null`, isError},
	{"absent arguments", "kitchen", ``, isError},
	{"array arguments", "kitchen", `[1,2]`, isError},
	{"string arguments", "kitchen", `"x"`, isError},
	{"number arguments", "kitchen", `5`, isError},
	{"wrong type string", "kitchen", `{"s":1,"i":1}`, isError},
	{"wrong type int", "kitchen", `{"s":"x","i":"1"}`, isError},
	{"wrong type bool", "kitchen", `{"s":"x","i":1,"b":"true"}`, isError},
	{"integral float for int", "kitchen", `{"s":"x","i":1.0}`, okResult},
	{"fraction for int", "kitchen", `{"s":"x","i":1.5}`, isError},
	{"exponent for int", "kitchen", `{"s":"x","i":1e3}`, okResult},
	{"huge exponent for int", "kitchen", `{"s":"x","i":1e30}`, isError},
	{"int8 overflow", "kitchen", `{"s":"x","i":1,"i8":300}`, isError},
	{"beyond 2^53", "kitchen", `{"s":"x","i":1,"i64":9007199254740993}`, okResult},
	{"beyond int64", "kitchen", `{"s":"x","i":1,"i64":92233720368547758070}`, isError},
	{"negative for uint", "kitchen", `{"s":"x","i":1,"u":-1}`, isError},
	{"float overflow", "kitchen", `{"s":"x","i":1,"f":1e400}`, isError},
	{"float32 rounding", "kitchen", `{"s":"x","i":1,"f32":16777217}`, okResult},
	{"negative zero", "kitchen", `{"s":"x","i":-0,"f":-0}`, okResult},
	{"extra field", "kitchen", `{"s":"x","i":1,"zzz":1}`, isError},
	{"extra fields", "kitchen", `{"s":"x","i":1,"zzz":1,"yyy":2,"xxx":3,"www":4}`, isError},
	{"extra nested field", "kitchen", `{"s":"x","i":1,"nested":{"a":"a","zzz":1}}`, isError},
	{"case variant key", "kitchen", `{"S":"x","i":1}`, isError},
	{"duplicate key", "kitchen", `{"s":"a","s":"b","i":1}`, okResult},
	{"duplicate nested object", "kitchen", `{"s":"a","i":1,"nested":{"a":"x"},"nested":{"n":2}}`, isError},
	{"duplicate nested object valid", "kitchen", `{"s":"a","i":1,"nested":{"a":"x","n":1},"nested":{"a":"y"}}`, okResult},
	{"duplicate map", "kitchen", `{"s":"a","i":1,"m":{"a":1},"m":{"b":2}}`, okResult},
	{"null pointer", "kitchen", `{"s":"x","i":1,"p":null}`, okResult},
	{"null string", "kitchen", `{"s":null,"i":1}`, isError},
	{"null slice", "kitchen", `{"s":"x","i":1,"list":null}`, okResult},
	{"null map", "kitchen", `{"s":"x","i":1,"m":null}`, isError},
	{"item missing qty", "kitchen", `{"s":"x","i":1,"items":[{"name":"n"}]}`, isError},
	{"map wrong value", "kitchen", `{"s":"x","i":1,"m":{"a":"b"}}`, isError},
	{"array too long", "kitchen", `{"s":"x","i":1,"arr":[1,2,3]}`, isError},
	{"escapes", "kitchen", `{"s":"\u00e9\n\"<>&\u2028\/","i":1}`, okResult},
	{"lone surrogate", "kitchen", `{"s":"a\ud800b","i":1}`, okResult},
	{"raw non-ASCII", "kitchen", `{"s":"héllo ✓","i":1}`, okResult},
	{"invalid UTF-8", "kitchen", "{\"s\":\"a\xffb\",\"i\":1}", okResult},
	{"escaped key", "kitchen", `{"\u0073":"x","i":1}`, okResult},
	{"deep nesting", "kitchen", `{"s":"x","i":1,"list":` + strings.Repeat("[", 990) + strings.Repeat("]", 990) + `}`, isError},
	{"big string", "kitchen", `{"s":"` + strings.Repeat("x", 100_000) + `","i":1}`, okResult},
	{"pointer In", "echo_ptr", `{"s":"x","i":1}`, okResult},
	{"pointer In null", "echo_ptr", `null`, isError},
	{"defaults applied", "defaults", `{"name":"n"}`, okResult},
	{"defaults overridden", "defaults", `{"name":"n","mode":"slow","count":7,"opts":{"deep":false}}`, okResult},
	{"nested default", "defaults", `{"name":"n","opts":{}}`, okResult},
	{"defaults missing required", "defaults", `{}`, isError},
	{"enum violation", "defaults", `{"name":"n","mode":"medium"}`, isError},
	{"minimum violation", "defaults", `{"name":"n","count":-1}`, isError},
	{"additionalProperties false", "defaults", `{"name":"n","x":1}`, isError},
	{"map schema default", "map_schema", `{}`, okResult},
	{"map schema absent", "map_schema", ``, okResult},
	{"map schema extra allowed", "map_schema", `{"x":2,"other":[1,{"a":null}]}`, okResult},
	{"map schema wrong type", "map_schema", `{"x":"s"}`, isError},
	{"time and raw", "special", `{"when":"2026-01-02T03:04:05Z","raw":[ 1.0, 2e2 ],"any":{"n":1.0}}`, okResult},
	{"raw literal kept or not", "special", `{"when":"2026-01-02T03:04:05Z","raw":[ 1, 2 ],"any":{"b":1,"a":2}}`, okResult},
	{"bad time", "special", `{"when":"yesterday"}`, isError},
	{"tool error", "fail", `{}`, isError},
	{"tool error, no arguments", "fail", ``, isError},
	{"jsonrpc error", "rpc_error", `{}`, rpcError},
	{"wrapped jsonrpc error", "wrapped_rpc_error", `{}`, isError},
	{"zero pointer out", "zero_ptr", `{}`, okResult},
	{"zero value out", "zero_val", `{}`, okResult},
	{"ok out", "ok", `{}`, okResult},
	{"empty In extra field", "ok", `{"x":1}`, isError},
	{"any in, nil out", "any_nil", `{"a":1}`, okResult},
	{"any echo", "any_echo", `{"a":[1,2.5,"x",null,true]}`, okResult},
	{"any echo null", "any_echo", `null`, okResult},
	{"nil map out", "map_nil", `{}`, okResult},
	{"slice out", "slice_out", `{}`, okResult},
	{"int out", "int_out", `{}`, okResult},
	{"output violates schema", "bad_out", `{}`, rpcError},
	{"html in output", "html_out", `{}`, okResult},
	{"unknown tool", "nope", `{}`, rpcError},
}

func servers(t *testing.T) (sdk, ours *httptest.Server) {
	t.Helper()
	impl := &mcp.Implementation{Name: "diff", Version: "1"}
	s1, s2 := mcp.NewServer(impl, nil), mcp.NewServer(impl, nil)
	for _, p := range pairs {
		p(s1, s2)
	}
	opts := &mcp.StreamableHTTPOptions{Stateless: true, JSONResponse: true}
	sdk = httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s1 }, opts))
	t.Cleanup(sdk.Close)
	ours = httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s2 }, opts))
	t.Cleanup(ours.Close)
	return sdk, ours
}

func post(t *testing.T, srv *httptest.Server, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-06-18")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func callBody(tool, args string) string {
	params := `{"name":` + strconv(tool)
	if args != "" {
		params += `,"arguments":` + args
	}
	return `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":` + params + `}}`
}

func strconv(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func kind(t *testing.T, body []byte) string {
	t.Helper()
	var resp struct {
		Result *struct {
			IsError bool `json:"isError"`
		} `json:"result"`
		Error *json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatalf("not JSON-RPC: %v: %.300s", err, body)
	}
	switch {
	case resp.Error != nil:
		return rpcError
	case resp.Result != nil && resp.Result.IsError:
		return isError
	case resp.Result != nil:
		return okResult
	}
	t.Fatalf("neither result nor error: %.300s", body)
	return ""
}

// go-sdk lists unexpected additional properties in map order, which
// differs from run to run; compare them as sets.
var extraProps = regexp.MustCompile(`unexpected additional properties \[([^\]]*)\]`)

func normalize(body []byte) []byte {
	return extraProps.ReplaceAllFunc(body, func(m []byte) []byte {
		f := strings.Fields(string(extraProps.FindSubmatch(m)[1]))
		slices.Sort(f)
		return []byte("unexpected additional properties [" + strings.Join(f, " ") + "]")
	})
}

func TestCallDifferential(t *testing.T) {
	sdk, ours := servers(t)
	for _, tc := range callCases {
		t.Run(tc.name, func(t *testing.T) {
			body := callBody(tc.tool, tc.args)
			wantStatus, want := post(t, sdk, body)
			gotStatus, got := post(t, ours, body)
			if gotStatus != wantStatus || !bytes.Equal(normalize(got), normalize(want)) {
				t.Fatalf("go-sdk: %d %.2000s\ntools:  %d %.2000s", wantStatus, want, gotStatus, got)
			}
			if wantStatus != http.StatusOK {
				t.Fatalf("status %d: %.300s", wantStatus, want)
			}
			if k := kind(t, want); k != tc.want {
				t.Errorf("answer is %s, want %s: %.500s", k, tc.want, want)
			}
		})
	}
}

func TestListDifferential(t *testing.T) {
	sdk, ours := servers(t)
	body := `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`
	_, want := post(t, sdk, body)
	_, got := post(t, ours, body)
	type list struct {
		Result struct {
			Tools []map[string]any `json:"tools"`
		} `json:"result"`
	}
	var w, g list
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if len(w.Result.Tools) != len(pairs) || len(g.Result.Tools) != len(pairs) {
		t.Fatalf("got %d and %d tools, want %d", len(w.Result.Tools), len(g.Result.Tools), len(pairs))
	}
	for i := range w.Result.Tools {
		wj, _ := json.Marshal(w.Result.Tools[i])
		gj, _ := json.Marshal(g.Result.Tools[i])
		if !bytes.Equal(wj, gj) {
			t.Errorf("tool %d:\ngo-sdk %s\ntools  %s", i, wj, gj)
		}
	}
	if !bytes.Equal(got, want) {
		t.Errorf("tools/list bytes differ\ngo-sdk %s\ntools  %s", want, got)
	}
}

// secretPanic is a panic value whose text must never reach the client or
// the log.
type secretPanic struct{ msg string }

func TestPanicRecovered(t *testing.T) {
	var logBuf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logBuf, nil))
	s := mcp.NewServer(&mcp.Implementation{Name: "p", Version: "1"}, nil)
	opts := &tools.Options{Logger: logger}
	tools.New(tools.Def{Tool: &mcp.Tool{Name: "boom"}}, func(context.Context, *mcp.CallToolRequest, empty) (result, error) {
		panic(secretPanic{"s3cret-value-4711"})
	}).RegisterWith(s, opts)
	tools.New(tools.Def{Tool: &mcp.Tool{Name: "index"}}, func(_ context.Context, _ *mcp.CallToolRequest, in struct {
		I int `json:"i"`
	}) (result, error) {
		return result{ID: []string{"a"}[in.I]}, nil // out of range for i=7
	}).RegisterWith(s, opts)
	tools.New(tools.Def{Tool: &mcp.Tool{Name: "ok"}}, func(context.Context, *mcp.CallToolRequest, empty) (result, error) {
		return result{OK: true}, nil
	}).RegisterWith(s, opts)
	srv := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s },
		&mcp.StreamableHTTPOptions{Stateless: true, JSONResponse: true}))
	t.Cleanup(srv.Close)

	want := `{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"internal error"}],"isError":true}}`
	for _, body := range []string{callBody("boom", `{}`), callBody("index", `{"i":7}`)} {
		status, got := post(t, srv, body)
		if status != http.StatusOK || strings.TrimSpace(string(got)) != want {
			t.Errorf("%s: %d %s, want %s", body, status, got, want)
		}
	}
	// The process and server survive.
	if _, got := post(t, srv, callBody("ok", `{}`)); !strings.Contains(string(got), `"structuredContent":{"ok":true}`) {
		t.Errorf("after panics: %s", got)
	}

	logs := logBuf.String()
	t.Logf("log:\n%s", logs)
	for _, w := range []string{`"tool":"boom"`, `"panic_type":"tools_test.secretPanic"`, `"tool":"index"`, `"panic_type":"runtime.boundsError"`} {
		if !strings.Contains(logs, w) {
			t.Errorf("log lacks %s", w)
		}
	}
	for _, leak := range []string{"s3cret", "out of range", "[7]"} {
		if strings.Contains(logs, leak) {
			t.Errorf("log leaks %q", leak)
		}
	}
	if n := strings.Count(logs, "\n"); n != 2 {
		t.Errorf("%d log records, want 2", n)
	}
}

// TestPanicErrorValue: middleware can tell a recovered panic from a tool
// error.
func TestPanicErrorValue(t *testing.T) {
	s := mcp.NewServer(&mcp.Implementation{Name: "p", Version: "1"}, nil)
	tools.New(tools.Def{Tool: &mcp.Tool{Name: "boom"}}, func(context.Context, *mcp.CallToolRequest, empty) (result, error) {
		panic("x")
	}).Register(s)
	var got error
	s.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			res, err := next(ctx, method, req)
			if r, ok := res.(*mcp.CallToolResult); ok {
				got = r.GetError()
			}
			return res, err
		}
	})
	ct, st := mcp.NewInMemoryTransports()
	ss, err := s.Connect(t.Context(), st, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Close()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "c", Version: "1"}, nil).Connect(t.Context(), ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "boom", Arguments: map[string]any{}})
	if err != nil || !res.IsError {
		t.Fatalf("CallTool = %+v, %v", res, err)
	}
	if !errors.Is(got, tools.ErrPanicked) {
		t.Errorf("GetError() = %v, want ErrPanicked", got)
	}
}

func TestNewPanicsOnBadDef(t *testing.T) {
	for name, f := range map[string]func(){
		"nil tool": func() {
			tools.New(tools.Def{}, echo[empty])
		},
		"func field": func() {
			tools.New(tools.Def{Tool: &mcp.Tool{Name: "f"}}, echo[struct{ F func() }])
		},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		})
	}
}

// TestNullArgumentsWithDefaults: go-sdk v1.8.0's mcp.AddTool crashes the
// process on "arguments": null for a tool whose input schema has defaults
// (ApplyDefaults assigns into a nil map). tools treats null like absent
// arguments: defaults are applied, then the schema is checked.
func TestNullArgumentsWithDefaults(t *testing.T) {
	s := mcp.NewServer(&mcp.Implementation{Name: "n", Version: "1"}, nil)
	tools.New(tools.Def{Tool: &mcp.Tool{Name: "defaults", InputSchema: defaultsSchema()}}, echo[withDefaults]).Register(s)
	srv := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s },
		&mcp.StreamableHTTPOptions{Stateless: true, JSONResponse: true}))
	t.Cleanup(srv.Close)
	_, null := post(t, srv, callBody("defaults", `null`))
	_, absent := post(t, srv, callBody("defaults", ``))
	if !bytes.Equal(null, absent) || kind(t, null) != isError || !strings.Contains(string(null), `missing properties: [\"name\"]`) {
		t.Errorf("null arguments: %s\nabsent arguments: %s", null, absent)
	}
}

// TestTrustOutput: by default an output its schema refuses is an error (as
// with mcp.AddTool); with TrustOutput the output is sent as marshalled,
// without the validation pass.
func TestTrustOutput(t *testing.T) {
	for _, trust := range []bool{false, true} {
		t.Run(fmt.Sprint("trust=", trust), func(t *testing.T) {
			s := mcp.NewServer(&mcp.Implementation{Name: "p", Version: "1"}, nil)
			tools.New(tools.Def{Tool: &mcp.Tool{Name: "bad"}}, func(context.Context, *mcp.CallToolRequest, empty) (badOut, error) {
				return badOut{N: 1}, nil
			}).RegisterWith(s, &tools.Options{TrustOutput: trust})
			var (
				got    *mcp.CallToolResult
				gotErr error
			)
			s.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
				return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
					res, err := next(ctx, method, req)
					if method == "tools/call" {
						got, _ = res.(*mcp.CallToolResult)
						gotErr = err
					}
					return res, err
				}
			})
			ct, st := mcp.NewInMemoryTransports()
			ss, err := s.Connect(t.Context(), st, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer ss.Close()
			cs, err := mcp.NewClient(&mcp.Implementation{Name: "c", Version: "1"}, nil).Connect(t.Context(), ct, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer cs.Close()
			_, _ = cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "bad", Arguments: map[string]any{}})
			if !trust {
				if gotErr == nil || !strings.Contains(gotErr.Error(), "validating tool output") {
					t.Errorf("untrusted: err = %v, want an output validation error", gotErr)
				}
				return
			}
			if gotErr != nil || got == nil || string(got.StructuredContent.(json.RawMessage)) != `{"n":"not a number"}` {
				t.Errorf("trusted: result %+v, err %v", got, gotErr)
			}
		})
	}
}
