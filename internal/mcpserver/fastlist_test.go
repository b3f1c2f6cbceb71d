package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/crm-mcp/crm-mcp/internal/benchtools"
)

// listVariant is one request of the differential test.
type listVariant struct {
	name     string
	body     string
	header   map[string]string // "" value deletes the default
	wantFast bool              // the fast path must answer it
}

const (
	v26     = "2026-07-28"
	meta26  = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}`
	list26  = `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{` + meta26 + `}}`
	listOld = `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`
)

func hdr26(extra ...string) map[string]string {
	h := map[string]string{"Mcp-Protocol-Version": v26, "Mcp-Method": "tools/list"}
	for i := 0; i+1 < len(extra); i += 2 {
		h[extra[i]] = extra[i+1]
	}
	return h
}

func with26(body string) string {
	return `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":` + body + `}}`
}

func listVariants() []listVariant {
	vs := []listVariant{
		{name: "no version header", body: listOld, header: map[string]string{"Mcp-Protocol-Version": ""}, wantFast: true},
		{name: "2025-03-26", body: listOld, header: map[string]string{"Mcp-Protocol-Version": "2025-03-26"}, wantFast: true},
		{name: "2025-11-25", body: listOld, header: map[string]string{"Mcp-Protocol-Version": "2025-11-25"}, wantFast: true},
		{name: "2026-07-28", body: list26, header: hdr26(), wantFast: true},
		{name: "2026 meta before id", body: `{"params":{` + meta26 + `},"method":"tools/list","jsonrpc":"2.0","id":"x"}`, header: hdr26(), wantFast: true},
		{name: "2026 clientInfo", body: with26(`{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"roots":{"listChanged":true},"sampling":{}},"io.modelcontextprotocol/clientInfo":{"name":"c","version":"1"},"io.modelcontextprotocol/logLevel":"debug","progressToken":3}`), header: hdr26(), wantFast: true},
		{name: "2026 clientInfo null", body: with26(`{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":null}`), header: hdr26()},
		{name: "2026 clientInfo bad type", body: with26(`{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":5}}`), header: hdr26()},
		{name: "2026 capabilities missing", body: with26(`{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}`), header: hdr26()},
		{name: "2026 capabilities null", body: with26(`{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":null}`), header: hdr26()},
		{name: "2026 capabilities bad roots", body: with26(`{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"roots":5}}`), header: hdr26()},
		{name: "2026 capabilities unknown key", body: with26(`{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"telepathy":{}}}`), header: hdr26()},
		{name: "2026 meta version mismatch", body: with26(`{"io.modelcontextprotocol/protocolVersion":"2025-11-25","io.modelcontextprotocol/clientCapabilities":{}}`), header: hdr26()},
		{name: "2026 no meta", body: listOld, header: hdr26()},
		{name: "2026 empty meta", body: with26(`{}`), header: hdr26()},
		{name: "2026 no Mcp-Method", body: list26, header: hdr26("Mcp-Method", "")},
		{name: "2026 Mcp-Method mismatch", body: list26, header: hdr26("Mcp-Method", "tools/call")},
		{name: "2026 Mcp-Method case", body: list26, header: hdr26("Mcp-Method", "Tools/List")},
		{name: "2026 meta exponent", body: with26(`{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"x":1e400}`), header: hdr26()},
		{name: "legacy with 2026 meta", body: list26},
		{name: "legacy meta progressToken", body: `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"progressToken":"p","x":[1,{"y":null}]}}}`, wantFast: true},
		{name: "legacy meta exponent", body: `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"x":1e400}}}`},
		{name: "legacy empty meta", body: `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{}}}`, wantFast: true},
		{name: "params empty", body: `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}`, wantFast: true},
		{name: "params null", body: `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":null}`},
		{name: "params array", body: `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":[]}`},
		{name: "cursor", body: `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"cursor":"abc"}}`},
		{name: "unknown param", body: `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"foo":1}}`},
		{name: "unknown field", body: `{"jsonrpc":"2.0","id":1,"method":"tools/list","foo":true}`},
		{name: "whitespace", body: " \r\n\t{ \"id\" : 7 ,\n\"method\"\t:\"tools/list\" , \"jsonrpc\" : \"2.0\" }\n ", wantFast: true},
		{name: "trailing garbage", body: listOld + `x`},
		{name: "trailing object", body: listOld + `{}`},
		{name: "jsonrpc 1.0", body: `{"jsonrpc":"1.0","id":1,"method":"tools/list"}`},
		{name: "no jsonrpc", body: `{"id":1,"method":"tools/list"}`},
		{name: "method case", body: `{"jsonrpc":"2.0","id":1,"method":"Tools/list"}`},
		{name: "method key case", body: `{"jsonrpc":"2.0","id":1,"Method":"tools/list"}`},
		{name: "method escaped", body: `{"jsonrpc":"2.0","id":1,"method":"tools\/list"}`},
		{name: "escaped key", body: `{"jsonrpc":"2.0","\u0069d":1,"method":"tools/list"}`},
		{name: "duplicate id", body: `{"jsonrpc":"2.0","id":1,"id":2,"method":"tools/list"}`},
		{name: "duplicate method", body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","method":"tools/list"}`},
		{name: "no id", body: `{"jsonrpc":"2.0","method":"tools/list"}`},
		{name: "invalid utf8", body: "{\"jsonrpc\":\"2.0\",\"id\":\"\xff\",\"method\":\"tools/list\"}"},
		{name: "content-type charset", body: listOld, header: map[string]string{"Content-Type": "application/json; charset=utf-8"}, wantFast: true},
		{name: "content-type case", body: listOld, header: map[string]string{"Content-Type": "Application/JSON"}, wantFast: true},
		{name: "content-type missing", body: listOld, header: map[string]string{"Content-Type": ""}},
		{name: "content-type text", body: listOld, header: map[string]string{"Content-Type": "text/plain"}},
		{name: "content-type malformed", body: listOld, header: map[string]string{"Content-Type": "application/json;;"}},
		{name: "accept json only", body: listOld, header: map[string]string{"Accept": "application/json"}},
		{name: "accept missing", body: listOld, header: map[string]string{"Accept": ""}},
		{name: "accept wildcard", body: listOld, header: map[string]string{"Accept": "*/*"}, wantFast: true},
		{name: "accept params", body: listOld, header: map[string]string{"Accept": "text/event-stream;q=0.5, APPLICATION/JSON"}, wantFast: true},
		{name: "session id", body: listOld, header: map[string]string{"Mcp-Session-Id": "abc"}},
		{name: "last event id", body: listOld, header: map[string]string{"Last-Event-ID": "abc_1"}},
		{name: "rebinding host", body: listOld, header: map[string]string{"Host": "crm.example.com"}},
		{name: "notification", body: `{"jsonrpc":"2.0","method":"notifications/initialized"}`},
		{name: "tools/call echo", body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}`},
	}
	ids := []struct {
		raw      string
		wantFast bool
	}{
		{`0`, true}, {`-7`, true}, {`123456789012345`, true}, {`9007199254740993`, false},
		{`1.0`, false}, {`1.5`, false}, {`1e3`, false}, {`-0`, false},
		{`"abc"`, true}, {`""`, true}, {`"a\"b\\c\/d\n\t"`, true}, {`"\u00e9\u0000x"`, true},
		{`"é<&>"`, true}, {"\"a\u2028b\"", true}, {`"\ud83d\ude00"`, false}, {`"\ud800"`, false},
		{`null`, false}, {`true`, false}, {`{}`, false}, {`[1]`, false},
	}
	for _, id := range ids {
		vs = append(vs, listVariant{
			name:     "id " + id.raw,
			body:     `{"jsonrpc":"2.0","id":` + id.raw + `,"method":"tools/list"}`,
			wantFast: id.wantFast,
		})
		vs = append(vs, listVariant{
			name:     "2026 id " + id.raw,
			body:     `{"jsonrpc":"2.0","id":` + id.raw + `,"method":"tools/list","params":{` + meta26 + `}}`,
			header:   hdr26(),
			wantFast: id.wantFast,
		})
	}
	return vs
}

func newBenchServer(t testing.TB, so *mcp.ServerOptions) *Server {
	t.Helper()
	s, err := New(Options{
		Register:      benchtools.Register,
		ServerOptions: so,
		Guard:         GuardOptions{AllowLoopback: true, AllowedHosts: []string{"crm.example.com"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func send(t *testing.T, url string, v listVariant) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(v.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	for k, val := range v.header {
		switch {
		case k == "Host":
			req.Host = val
		case val == "":
			req.Header.Del(k)
		default:
			req.Header.Set(k, val)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Header.Del("Date")
	return answer{resp.StatusCode, resp.Header, body}
}

// failingSDK stands in for go-sdk after priming, to prove which requests
// the fast path answers on its own.
var failingSDK = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	http.Error(w, "reached go-sdk", http.StatusTeapot)
})

func TestFastListDifferential(t *testing.T) {
	plain := newBenchServer(t, nil)
	plain.SetFastToolsList(false)
	fast := newBenchServer(t, nil)
	fastOnly := newBenchServer(t, nil)
	fastOnly.fast.prime()
	fastOnly.jsonResp, fastOnly.sseResp = failingSDK, failingSDK

	plainSrv := httptest.NewServer(plain)
	defer plainSrv.Close()
	fastSrv := httptest.NewServer(fast)
	defer fastSrv.Close()
	onlySrv := httptest.NewServer(fastOnly)
	defer onlySrv.Close()

	served := 0
	for _, v := range listVariants() {
		t.Run(v.name, func(t *testing.T) {
			want := send(t, plainSrv.URL, v)
			got := send(t, fastSrv.URL, v)
			if got.status != want.status {
				t.Errorf("status %d, go-sdk %d", got.status, want.status)
			}
			if fmt.Sprint(got.header) != fmt.Sprint(want.header) {
				t.Errorf("header\n%v\ngo-sdk\n%v", got.header, want.header)
			}
			if !bytes.Equal(got.body, want.body) {
				t.Errorf("body\n%s\ngo-sdk\n%s", got.body, want.body)
			}
			only := send(t, onlySrv.URL, v)
			isFast := only.status != http.StatusTeapot
			if isFast != v.wantFast {
				t.Errorf("fast path answered: %v, want %v (go-sdk: %d %s)", isFast, v.wantFast, want.status, want.body)
			}
			if isFast {
				served++
				if !bytes.Equal(only.body, want.body) {
					t.Errorf("fast-only body differs")
				}
			}
		})
	}
	if served < 20 {
		t.Errorf("fast path answered only %d variants", served)
	}
}

// TestFastListIsGoSDKOutput checks the primed answers are real results with
// our tools, ttlMs/cacheScope included.
func TestFastListIsGoSDKOutput(t *testing.T) {
	s := newBenchServer(t, nil)
	snap := s.fast.prime()
	for _, v := range append([]string{""}, ProtocolVersions...) {
		p := snap.byVersion[v]
		if p == nil {
			t.Fatalf("revision %q not primed", v)
		}
		var resp struct {
			Result mcp.ListToolsResult `json:"result"`
		}
		if err := json.Unmarshal(append([]byte(primedPrefix+"1"), p.tail...), &resp); err != nil {
			t.Fatal(err)
		}
		if len(resp.Result.Tools) != len(benchtools.Names) {
			t.Errorf("%q: %d tools, want %d", v, len(resp.Result.Tools), len(benchtools.Names))
		}
	}
}

func TestFastListFollowsToolChanges(t *testing.T) {
	plain := newBenchServer(t, nil)
	plain.SetFastToolsList(false)
	fast := newBenchServer(t, nil)
	plainSrv := httptest.NewServer(plain)
	defer plainSrv.Close()
	fastSrv := httptest.NewServer(fast)
	defer fastSrv.Close()
	v := listVariant{body: listOld}

	before := send(t, fastSrv.URL, v) // primes
	add := func(s *mcp.Server) {
		mcp.AddTool(s, &mcp.Tool{Name: "zz_new", Description: "added later"}, benchtools.Echo)
	}
	add(plain.MCP())
	fast.UpdateTools(add)
	want := send(t, plainSrv.URL, v)
	got := send(t, fastSrv.URL, v)
	if !bytes.Contains(got.body, []byte(`"zz_new"`)) || !bytes.Equal(got.body, want.body) {
		t.Fatalf("after UpdateTools: fast path served\n%s\ngo-sdk\n%s", got.body, want.body)
	}
	if bytes.Equal(before.body, got.body) {
		t.Fatal("list did not change")
	}

	fast.MCP().RemoveTools("zz_new")
	plain.MCP().RemoveTools("zz_new")
	fast.ToolsChanged()
	if got, want := send(t, fastSrv.URL, v), send(t, plainSrv.URL, v); !bytes.Equal(got.body, want.body) {
		t.Fatalf("after ToolsChanged: fast path served\n%s\ngo-sdk\n%s", got.body, want.body)
	}
}

// TestFastListOffWithSetCacheable: a caller's SetCacheable may decide per
// request, so the fast path stays out of the way and its values reach the
// client.
func TestFastListOffWithSetCacheable(t *testing.T) {
	s := newBenchServer(t, &mcp.ServerOptions{SetCacheable: func(_ context.Context, _ mcp.Request, c *mcp.Cacheable) {
		c.TTLMs = 1234
	}})
	if s.fast.enabled.Load() {
		t.Fatal("fast path on with a caller's SetCacheable")
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	got := send(t, srv.URL, listVariant{body: list26, header: hdr26()})
	if !bytes.Contains(got.body, []byte(`"ttlMs":1234`)) {
		t.Fatalf("ttlMs lost: %s", got.body)
	}
}

// TestFastListConcurrentChanges runs tools/list while the tool set changes
// (meaningful under -race).
func TestFastListConcurrentChanges(t *testing.T) {
	s := newBenchServer(t, nil)
	srv := httptest.NewServer(s)
	defer srv.Close()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				if a := send(t, srv.URL, listVariant{body: listOld}); a.status != http.StatusOK {
					t.Errorf("status %d", a.status)
				}
			}
		}()
	}
	for i := 0; i < 10; i++ {
		name := fmt.Sprintf("tmp_%d", i)
		s.UpdateTools(func(m *mcp.Server) {
			mcp.AddTool(m, &mcp.Tool{Name: name}, benchtools.Echo)
		})
	}
	wg.Wait()
	a := send(t, srv.URL, listVariant{body: listOld})
	if !bytes.Contains(a.body, []byte(`"tmp_9"`)) {
		t.Fatal("last added tool missing")
	}
}
