package mcpserver

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/crm-mcp/crm-mcp/internal/benchtools"
)

type emptyIn struct{}

type textResult struct {
	Text string `json:"text"`
}

// oneShotTools registers benchtools plus tools that exercise what the
// one-shot transport mirrors: server→client requests, notifications,
// CloseSSEStream, RequestExtra, the synthesised session state, a tool
// error and a blocking tool. Each reports what go-sdk told it in its
// result, so a difference shows up in the body.
func oneShotTools(block *blocker) func(*mcp.Server) {
	report := func(f func(ctx context.Context, req *mcp.CallToolRequest) string) mcp.ToolHandlerFor[emptyIn, textResult] {
		return func(ctx context.Context, req *mcp.CallToolRequest, _ emptyIn) (*mcp.CallToolResult, textResult, error) {
			return nil, textResult{Text: f(ctx, req)}, nil
		}
	}
	return func(s *mcp.Server) {
		benchtools.Register(s)
		mcp.AddTool(s, &mcp.Tool{Name: "fail"}, func(context.Context, *mcp.CallToolRequest, emptyIn) (*mcp.CallToolResult, textResult, error) {
			return nil, textResult{}, fmt.Errorf("boom")
		})
		mcp.AddTool(s, &mcp.Tool{Name: "roots"}, report(func(ctx context.Context, req *mcp.CallToolRequest) string {
			res, err := req.Session.ListRoots(ctx, nil)
			return fmt.Sprintf("%v %v %T", res, err, err)
		}))
		mcp.AddTool(s, &mcp.Tool{Name: "sample"}, report(func(ctx context.Context, req *mcp.CallToolRequest) string {
			res, err := req.Session.CreateMessage(ctx, &mcp.CreateMessageParams{MaxTokens: 5, Messages: []*mcp.SamplingMessage{{Role: "user", Content: &mcp.TextContent{Text: "hi"}}}})
			return fmt.Sprintf("%v %v", res, err)
		}))
		mcp.AddTool(s, &mcp.Tool{Name: "elicit"}, report(func(ctx context.Context, req *mcp.CallToolRequest) string {
			res, err := req.Session.Elicit(ctx, &mcp.ElicitParams{Message: "name?", RequestedSchema: map[string]any{"type": "object"}})
			return fmt.Sprintf("%v %v", res, err)
		}))
		mcp.AddTool(s, &mcp.Tool{Name: "notify"}, report(func(ctx context.Context, req *mcp.CallToolRequest) string {
			e1 := req.Session.Log(ctx, &mcp.LoggingMessageParams{Level: "info", Data: "step"})
			e2 := req.Session.Log(ctx, &mcp.LoggingMessageParams{Level: "debug", Data: "detail"})
			e3 := req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: "t", Progress: 1})
			return fmt.Sprintf("%v | %v | %v", e1, e2, e3)
		}))
		mcp.AddTool(s, &mcp.Tool{Name: "extra"}, report(func(ctx context.Context, req *mcp.CallToolRequest) string {
			ip := req.Session.InitializeParams()
			return fmt.Sprintf("header=%q token=%v session=%q version=%q caps=%v client=%v ctx=%v meta=%v progress=%v",
				req.Extra.Header.Get("X-Test"), req.Extra.TokenInfo, req.Session.ID(), ip.ProtocolVersion,
				ip.Capabilities, ip.ClientInfo, ctx.Err(), req.Params.Meta, req.Params.GetProgressToken())
		}))
		mcp.AddTool(s, &mcp.Tool{Name: "close"}, report(func(ctx context.Context, req *mcp.CallToolRequest) string {
			req.Extra.CloseSSEStream(mcp.CloseSSEStreamArgs{RetryAfter: 25 * time.Millisecond})
			return "closed"
		}))
		mcp.AddTool(s, &mcp.Tool{Name: "close0"}, report(func(ctx context.Context, req *mcp.CallToolRequest) string {
			req.Extra.CloseSSEStream(mcp.CloseSSEStreamArgs{})
			return "closed"
		}))
		mcp.AddTool(s, &mcp.Tool{Name: "logs"}, report(func(ctx context.Context, req *mcp.CallToolRequest) string {
			return fmt.Sprint(req.Session.Log(ctx, &mcp.LoggingMessageParams{Level: "info", Data: "x"}))
		}))
		mcp.AddTool(s, &mcp.Tool{Name: "block"}, report(func(ctx context.Context, req *mcp.CallToolRequest) string {
			if block == nil {
				return "no blocker"
			}
			block.started <- struct{}{}
			select {
			case <-block.release:
				block.result <- fmt.Sprint("released, ctx ", ctx.Err())
			case <-ctx.Done():
				block.result <- fmt.Sprint("cancelled ", ctx.Err())
			}
			return "done"
		}))
	}
}

type blocker struct {
	started, release chan struct{}
	result           chan string
}

func newBlocker() *blocker {
	return &blocker{make(chan struct{}, 1), make(chan struct{}), make(chan string, 1)}
}

func newOneShotServer(t testing.TB, oneShot bool, b *blocker) *Server {
	t.Helper()
	s, err := New(Options{
		Register:       oneShotTools(b),
		StreamingTools: []string{"logs"},
		Guard:          GuardOptions{AllowLoopback: true, AllowedHosts: []string{"crm.example.com"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	s.SetOneShotToolsCall(oneShot)
	return s
}

type callVariant struct {
	name        string
	body        string
	header      map[string]string // "" value deletes the default
	wantOneShot bool              // the one-shot path must answer it
}

func callBody(id, name, args string) string {
	return `{"jsonrpc":"2.0","id":` + id + `,"method":"tools/call","params":{"name":"` + name + `","arguments":` + args + `}}`
}

func callVariants() []callVariant {
	echo := callBody("1", "echo", `{"text":"hi"}`)
	vs := []callVariant{}
	for _, rev := range []string{"", "2025-03-26", "2025-06-18", "2025-11-25"} {
		h := map[string]string{"Mcp-Protocol-Version": rev}
		r := "rev " + rev
		if rev == "" {
			r = "no version header"
		}
		vs = append(vs,
			callVariant{name: r + " echo", body: echo, header: h, wantOneShot: true},
			callVariant{name: r + " extra", body: callBody("2", "extra", `{}`), header: h, wantOneShot: true},
			callVariant{name: r + " roots (server→client request)", body: callBody("3", "roots", `{}`), header: h, wantOneShot: true},
			callVariant{name: r + " notify", body: callBody("4", "notify", `{}`), header: h, wantOneShot: true},
			callVariant{name: r + " close stream", body: callBody("5", "close", `{}`), header: h, wantOneShot: true},
		)
	}
	vs = append(vs, []callVariant{
		{name: "2026 with meta", body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}`,
			header: map[string]string{"Mcp-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": "echo"}},
		{name: "2026 without meta", body: echo, header: map[string]string{"Mcp-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": "echo"}},
		{name: "legacy with 2026 meta", body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2025-06-18","io.modelcontextprotocol/clientCapabilities":{}}}}`},
		{name: "legacy meta other reserved key", body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"extra","arguments":{},"_meta":{"io.modelcontextprotocol/logLevel":"debug"}}}`},
		{name: "escaped meta key", body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"extra","arguments":{},"_meta":{"io.modelcontextprotocol\/protocolVersion":"2025-06-18"}}}`},
		{name: "unicode escape in arguments", body: callBody("1", "echo", `{"text":"\u00e9"}`)},
		{name: "sample", body: callBody("1", "sample", `{}`), wantOneShot: true},
		{name: "elicit", body: callBody("1", "elicit", `{}`), wantOneShot: true},
		{name: "close without retry", body: callBody("1", "close0", `{}`), header: map[string]string{"Mcp-Protocol-Version": "2025-11-25"}, wantOneShot: true},
		{name: "tool error", body: callBody("1", "fail", `{}`), wantOneShot: true},
		{name: "unknown tool", body: callBody("1", "nope", `{}`), wantOneShot: true},
		{name: "invalid arguments", body: callBody("1", "echo", `{"text":5}`), wantOneShot: true},
		{name: "unknown argument", body: callBody("1", "echo", `{"text":"a","x":1}`), wantOneShot: true},
		{name: "typed tool", body: callBody("1", "search_candidates", `{"query":"go","limit":3,"skills":["a","b"]}`), wantOneShot: true},
		{name: "typed tool bad type", body: callBody("1", "search_candidates", `{"query":"go","limit":"3"}`), wantOneShot: true},
		{name: "typed tool missing required", body: callBody("1", "get_candidate", `{}`), wantOneShot: true},
		{name: "arguments missing", body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}`, wantOneShot: true},
		{name: "arguments null", body: callBody("1", "echo", `null`), wantOneShot: true},
		{name: "arguments array", body: callBody("1", "echo", `[1]`), wantOneShot: true},
		{name: "arguments exponent", body: callBody("1", "search_candidates", `{"query":"go","limit":1e1}`), wantOneShot: true},
		{name: "name missing", body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"arguments":{}}}`, wantOneShot: true},
		{name: "name not a string", body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":5}}`, wantOneShot: true},
		{name: "params empty", body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}`, wantOneShot: true},
		{name: "params null", body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":null}`, wantOneShot: true},
		{name: "params array", body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":[]}`, wantOneShot: true},
		{name: "params missing", body: `{"jsonrpc":"2.0","id":1,"method":"tools/call"}`},
		{name: "params extra field", body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"},"extra":[1,{"a":null}]}}`, wantOneShot: true},
		{name: "top-level extra field", body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","foo":1,"params":{"name":"echo","arguments":{"text":"hi"}}}`, wantOneShot: true},
		{name: "key order and whitespace", body: " \r\n{ \"params\" : {\"arguments\":{ \"text\" : \"hi\" } , \"name\":\"echo\"},\n\"method\"\t:\"tools/call\" , \"id\" : 7 , \"jsonrpc\" : \"2.0\" }\n", wantOneShot: true},
		{name: "trailing garbage (peekEnvelope fails)", body: echo + `x`},
		{name: "deep arguments", body: callBody("1", "echo", `{"text":"a","d":`+strings.Repeat("[", 40)+strings.Repeat("]", 40)+`}`), wantOneShot: true},
		{name: "non-ASCII and large text", body: callBody("1", "echo", `{"text":"é漢字 <&> `+strings.Repeat("x", 20000)+`"}`), wantOneShot: true},
		{name: "meta progressToken (SSE route)", body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"extra","arguments":{},"_meta":{"progressToken":"p"}}}`},
		{name: "meta progressToken null", body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"extra","arguments":{},"_meta":{"progressToken":null}}}`, wantOneShot: true},
		{name: "meta progressToken, JSON-only Accept", body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"extra","arguments":{},"_meta":{"progressToken":"p"}}}`, header: map[string]string{"Accept": "application/json"}},
		{name: "meta other keys", body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"extra","arguments":{},"_meta":{"x":{"y":[1,2]}}}}`, wantOneShot: true},
		{name: "streaming tool (SSE route)", body: callBody("1", "logs", `{}`)},
		{name: "streaming tool, JSON-only Accept", body: callBody("1", "logs", `{}`), header: map[string]string{"Accept": "application/json"}},
		{name: "notification tools/call", body: `{"jsonrpc":"2.0","method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}`},
		{name: "notification initialized", body: `{"jsonrpc":"2.0","method":"notifications/initialized"}`},
		{name: "notification cancelled", body: `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}`},
		{name: "batch", body: `[` + echo + `]`},
		{name: "method key case", body: `{"jsonrpc":"2.0","id":1,"Method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}`},
		{name: "method escaped", body: `{"jsonrpc":"2.0","id":1,"method":"tools\/call","params":{"name":"echo","arguments":{"text":"hi"}}}`, wantOneShot: true},
		{name: "duplicate method", body: `{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}`, wantOneShot: true},
		{name: "duplicate id", body: `{"jsonrpc":"2.0","id":1,"id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}`, wantOneShot: true},
		{name: "jsonrpc 1.0", body: `{"jsonrpc":"1.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}`},
		{name: "no jsonrpc", body: `{"id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}`},
		{name: "invalid utf8", body: "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"text\":\"\xff\"}}}", wantOneShot: true},
		{name: "custom header reaches the tool", body: callBody("1", "extra", `{}`), header: map[string]string{"X-Test": "v"}, wantOneShot: true},
		{name: "Mcp-Name mismatch ignored on legacy", body: echo, header: map[string]string{"Mcp-Name": "other", "Mcp-Method": "tools/list"}, wantOneShot: true},
		{name: "accept json only", body: echo, header: map[string]string{"Accept": "application/json"}},
		{name: "accept missing", body: echo, header: map[string]string{"Accept": ""}},
		{name: "accept wildcard", body: echo, header: map[string]string{"Accept": "*/*"}, wantOneShot: true},
		{name: "accept params", body: echo, header: map[string]string{"Accept": "text/event-stream;q=0.5, APPLICATION/JSON"}, wantOneShot: true},
		{name: "content-type charset", body: echo, header: map[string]string{"Content-Type": "application/json; charset=utf-8"}, wantOneShot: true},
		{name: "content-type text", body: echo, header: map[string]string{"Content-Type": "text/plain"}},
		{name: "content-type missing", body: echo, header: map[string]string{"Content-Type": ""}},
		{name: "last event id", body: echo, header: map[string]string{"Last-Event-ID": "abc_1"}},
		{name: "session id", body: echo, header: map[string]string{"Mcp-Session-Id": "abc"}},
		{name: "rebinding host", body: echo, header: map[string]string{"Host": "crm.example.com"}},
		{name: "tools/list (fast list)", body: `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`},
		{name: "unknown method", body: `{"jsonrpc":"2.0","id":1,"method":"tools/frobnicate","params":{}}`},
	}...)
	ids := []struct {
		raw         string
		wantOneShot bool
	}{
		{`0`, true}, {`-7`, true}, {`123456789012345`, true}, {`-123456789012345`, true},
		{`9007199254740993`, true}, {`1.0`, true}, {`1.5`, true}, {`1e3`, true}, {`-0`, true}, {`007`, false},
		{`"abc"`, true}, {`""`, true}, {`"a\"b\\c\/d\n"`, true}, {`"\u00e9"`, true}, {`"é<&>"`, true},
		{"\"a\u2028b\"", true}, {`"\ud800"`, true}, {`null`, false}, {`true`, false}, {`{}`, false}, {`[1]`, false},
	}
	for _, id := range ids {
		vs = append(vs, callVariant{
			name:        "id " + id.raw,
			body:        callBody(id.raw, "echo", `{"text":"hi"}`),
			wantOneShot: id.wantOneShot,
		})
	}
	return vs
}

func (v callVariant) list() listVariant {
	return listVariant{name: v.name, body: v.body, header: v.header}
}

// TestOneShotDifferential sends every variant to go-sdk alone (one-shot
// off) and with the one-shot path, and requires identical status, headers
// (all but Date) and body bytes. The one-shot path's own counter proves
// which variants it answered.
func TestOneShotDifferential(t *testing.T) {
	plain := newOneShotServer(t, false, nil)
	one := newOneShotServer(t, true, nil)

	plainSrv := httptest.NewServer(plain)
	defer plainSrv.Close()
	oneSrv := httptest.NewServer(one)
	defer oneSrv.Close()

	served, variants := 0, callVariants()
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			want := send(t, plainSrv.URL, v.list())
			before := one.oneShot.served.Load()
			got := send(t, oneSrv.URL, v.list())
			isOneShot := one.oneShot.served.Load() != before
			if got.status != want.status {
				t.Errorf("status %d, go-sdk %d", got.status, want.status)
			}
			if fmt.Sprint(got.header) != fmt.Sprint(want.header) {
				t.Errorf("header\n%v\ngo-sdk\n%v", got.header, want.header)
			}
			if !bytes.Equal(got.body, want.body) {
				t.Errorf("body\n%s\ngo-sdk\n%s", got.body, want.body)
			}
			if isOneShot != v.wantOneShot {
				t.Errorf("one-shot answered: %v, want %v (go-sdk: %d %s)", isOneShot, v.wantOneShot, want.status, want.body)
			}
			if isOneShot {
				served++
			}
			if plain.oneShot.served.Load() != 0 {
				t.Fatal("one-shot path answered with SetOneShotToolsCall(false)")
			}
			if testing.Verbose() {
				t.Logf("%d %s %.200s", want.status, want.header.Get("Content-Type"), want.body)
			}
		})
	}
	t.Logf("%d variants, %d answered by the one-shot path", len(variants), served)
	if served < 40 {
		t.Errorf("one-shot path answered only %d variants", served)
	}
	for _, s := range []*Server{one} {
		n := 0
		for range s.MCP().Sessions() {
			n++
		}
		if n != 0 {
			t.Errorf("%d sessions left connected", n)
		}
	}
}

// TestOneShotClientGoesAway: a client that hangs up on a legacy request
// does not cancel the tool (go-sdk propagates cancellation only for
// 2026-07-28); the handler returns once the tool has finished, and the
// recorded answer (go-sdk's headers, no body) is the same on both paths.
func TestOneShotClientGoesAway(t *testing.T) {
	var answers [2]string
	for i, oneShot := range []bool{false, true} {
		b := newBlocker()
		s := newOneShotServer(t, oneShot, b)
		ctx, cancel := context.WithCancel(context.Background())
		req := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(callBody("1", "block", `{}`))).WithContext(ctx)
		req.Host = "127.0.0.1"
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
		rec := httptest.NewRecorder()
		finished := make(chan struct{})
		go func() {
			defer close(finished)
			s.ServeHTTP(rec, req)
		}()
		select {
		case <-b.started:
		case <-time.After(10 * time.Second):
			t.Fatal("tool did not start")
		}
		cancel()
		select {
		case <-finished:
			t.Fatalf("oneShot=%v: handler returned before the tool finished", oneShot)
		case <-time.After(100 * time.Millisecond):
		}
		close(b.release)
		select {
		case <-finished:
		case <-time.After(10 * time.Second):
			t.Fatalf("oneShot=%v: handler did not return after the tool finished", oneShot)
		}
		answers[i] = fmt.Sprintf("tool: %s; %d %v %q", <-b.result, rec.Code, rec.Header(), rec.Body.String())
	}
	if answers[0] != answers[1] {
		t.Fatalf("go-sdk: %s\none-shot: %s", answers[0], answers[1])
	}
	t.Log(answers[0])
}

// TestOneShotConcurrent runs many calls at once (meaningful under -race)
// and checks each answer belongs to its request.
func TestOneShotConcurrent(t *testing.T) {
	s := newOneShotServer(t, true, nil)
	srv := httptest.NewServer(s)
	defer srv.Close()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				id := fmt.Sprintf(`"g%d-%d"`, g, i)
				a := send(t, srv.URL, listVariant{body: callBody(id, "echo", `{"text":`+id+`}`)})
				if a.status != http.StatusOK || !bytes.HasPrefix(a.body, []byte(`{"jsonrpc":"2.0","id":`+id+`,"result":`)) ||
					!bytes.Contains(a.body, []byte(`"structuredContent":{"text":`+id+`}`)) {
					t.Errorf("%s: %d %s", id, a.status, a.body)
					return
				}
			}
		}()
	}
	wg.Wait()
	n := 0
	for range s.MCP().Sessions() {
		n++
	}
	if n != 0 {
		t.Errorf("%d sessions left connected", n)
	}
}

// TestParseCallRequestMatchesGoSDK: whatever the strict scanner accepts,
// go-sdk's decoder decodes to the same request.
func TestParseCallRequestMatchesGoSDK(t *testing.T) {
	accepted := 0
	for _, v := range callVariants() {
		if checkParseAgainstSDK(t, []byte(v.body)) {
			accepted++
		}
	}
	for _, body := range parseSeeds() {
		if checkParseAgainstSDK(t, []byte(body)) {
			accepted++
		}
	}
	if accepted < 20 {
		t.Errorf("scanner accepted only %d bodies", accepted)
	}
}

func parseSeeds() []string {
	return []string{
		callBody("1", "echo", `{"text":"hi"}`),
		callBody("-0", "echo", `{}`),
		callBody("999999999999999", "echo", `{}`),
		callBody("1000000000000000", "echo", `{}`),
		callBody(`"x y"`, "echo", `{"a":[1,2.5,-3,true,false,null,{"b":"\n\t\"\\"}]}`),
		callBody("1", "echo", `{"n":1e400}`),
		callBody("1", "echo", `{"n":123456789012345678901234567890}`),
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{ }}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"_meta":{"progressToken":"p"},"name":"x"}}`,
		` {"method":"tools/call","params":{"name":"e"},"jsonrpc":"2.0","id":"é"} `,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"e"}}{}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"e",}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"e"},}`,
		`{"jsonrpc":"2.0","id":01,"method":"tools/call","params":{"name":"e"}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"e\u0000"}}`,
		"{\"jsonrpc\":\"2.0\",\"id\":\"a\tb\",\"method\":\"tools/call\",\"params\":{}}",
	}
}

// checkParseAgainstSDK reports whether parseCallRequest accepted body, and
// fails t if it did so with a request go-sdk would not build.
func checkParseAgainstSDK(t testing.TB, body []byte) bool {
	got, ok := parseCallRequest(body)
	if !ok {
		return false
	}
	msg, err := jsonrpc.DecodeMessage(body)
	if err != nil {
		t.Errorf("scanner accepted %q, go-sdk: %v", body, err)
		return true
	}
	want, isReq := msg.(*jsonrpc.Request)
	if !isReq || got.ID != want.ID || got.Method != want.Method || !bytes.Equal(got.Params, want.Params) || want.Extra != nil {
		t.Errorf("scanner built %+v from %q, go-sdk %+v", got, body, msg)
	}
	return true
}

// FuzzParseCallRequest holds the strict scanner to go-sdk's decoder.
func FuzzParseCallRequest(f *testing.F) {
	for _, v := range callVariants() {
		f.Add([]byte(v.body))
	}
	for _, s := range parseSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkParseAgainstSDK(t, body)
	})
}

func TestOneShotOffWithSessionsInStateless(t *testing.T) {
	for _, v := range []string{"", "foo=1"} {
		if sdkSessionsInStateless(v) {
			t.Errorf("%q: off", v)
		}
	}
	for _, v := range []string{"allowsessionsinstateless=1", "x=1,allowsessionsinstateless=1"} {
		if !sdkSessionsInStateless(v) {
			t.Errorf("%q: on", v)
		}
	}
}

// TestOneShotOnlyForGoSDKHandler: with the JSON handler replaced (wrapped
// or stubbed), the one-shot path stands aside and the replacement answers.
func TestOneShotOnlyForGoSDKHandler(t *testing.T) {
	s := newOneShotServer(t, true, nil)
	s.jsonResp = failingSDK
	srv := httptest.NewServer(s)
	defer srv.Close()
	if a := send(t, srv.URL, listVariant{body: callBody("1", "echo", `{"text":"hi"}`)}); a.status != http.StatusTeapot {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	if n := s.oneShot.served.Load(); n != 0 {
		t.Fatalf("one-shot answered %d requests", n)
	}
}
