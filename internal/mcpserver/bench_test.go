package mcpserver_test

// Whole-stack benchmarks against a bare net/http floor, over real loopback
// HTTP, in one invocation. See docs/performance.md for the commands and the
// recorded figures.
//
// Every sub-benchmark reports ns/op, allocs and cpu-µs/op: process CPU
// (getrusage, user+system) per request. Client and server share the
// process, so cpu-µs/op includes a deliberately lean client (pre-built
// request bytes written on a kept-alive connection, http.ReadResponse); the
// floor pays the same client cost, so compare ratios from one run.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/benchtools"
	"github.com/crm-mcp/crm-mcp/internal/mcpserver"
	"github.com/crm-mcp/crm-mcp/internal/obs"
)

const (
	benchListBody = `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`
	benchEchoBody = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}`
)

// benchLogger is the product's JSON logger at INFO (the access log is
// formatted on every request), writing nowhere.
func benchLogger(b testing.TB) *slog.Logger {
	l, err := obs.NewLogger(io.Discard, "json", slog.LevelInfo)
	if err != nil {
		b.Fatal(err)
	}
	return l
}

// ourStack is the product's composition of the /mcp endpoint
// (obs.Middleware → ServeMux → mcpserver) built by hand. fast turns the
// tools/list fast path and the one-shot tools/call path on ("stack") or
// off: plain go-sdk behind our guard, the "before" figure ("stack-nofast").
//
// It is not app.New(...).Handler(): since the OAuth work, app puts bearer
// token verification in front of /mcp, which these benchmarks leave out
// (they measure the MCP protocol path; measure auth separately).
func ourStack(b testing.TB, fast bool) http.Handler {
	logger := benchLogger(b)
	s, err := mcpserver.New(mcpserver.Options{
		Register: benchtools.Register,
		Guard:    mcpserver.GuardOptions{AllowLoopback: true},
		Logger:   logger,
	})
	if err != nil {
		b.Fatal(err)
	}
	s.SetFastToolsList(fast)
	s.SetOneShotToolsCall(fast)
	mux := http.NewServeMux()
	mux.Handle("/mcp", s)
	return obs.Middleware(logger, mux)
}

// floorHandler is a bare net/http + encoding/json handler: it decodes the
// request and writes prefix + id + tail, where tail is the rest of the
// response go-sdk produced for id 1. For tools/call it also decodes the
// arguments and encodes the result, as a minimal server would.
func floorHandler(tail []byte, call bool) http.Handler {
	type echoResult struct {
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
		StructuredContent struct {
			Text string `json:"text"`
		} `json:"structuredContent"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params struct {
				Name      string `json:"name"`
				Arguments struct {
					Text string `json:"text"`
				} `json:"arguments"`
			} `json:"params"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out := append([]byte(`{"jsonrpc":"2.0","id":`), req.ID...)
		if call {
			var res echoResult
			inner, _ := json.Marshal(map[string]string{"text": req.Params.Arguments.Text})
			res.Content = append(res.Content, struct {
				Type string `json:"type"`
				Text string `json:"text"`
			}{"text", string(inner)})
			res.StructuredContent.Text = req.Params.Arguments.Text
			body, _ := json.Marshal(res)
			out = append(append(append(out, `,"result":`...), body...), '}')
		} else {
			out = append(out, tail...)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache, no-transform")
		_, _ = w.Write(out)
	})
}

// rawRequest builds the HTTP/1.1 request bytes a client sends.
func rawRequest(host, body string) []byte {
	return []byte("POST /mcp HTTP/1.1\r\nHost: " + host +
		"\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream" +
		"\r\nMCP-Protocol-Version: 2025-06-18\r\nContent-Length: " + strconv.Itoa(len(body)) +
		"\r\n\r\n" + body)
}

type benchConn struct {
	c  net.Conn
	br *bufio.Reader
}

func dial(b testing.TB, srv *httptest.Server) *benchConn {
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	return &benchConn{c, bufio.NewReaderSize(c, 16<<10)}
}

// roundTrip sends req and returns the status, reading the body into buf
// (which it returns, reused).
func (bc *benchConn) roundTrip(req, buf []byte) (int, []byte, error) {
	if _, err := bc.c.Write(req); err != nil {
		return 0, buf, err
	}
	resp, err := http.ReadResponse(bc.br, nil)
	if err != nil {
		return 0, buf, err
	}
	w := bytes.NewBuffer(buf[:0])
	_, err = io.Copy(w, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, w.Bytes(), err
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// fetch returns one response body for body from h, checked to be a
// JSON-RPC result for id 1.
func fetch(b testing.TB, srv *httptest.Server, body string) []byte {
	bc := dial(b, srv)
	defer bc.c.Close()
	status, out, err := bc.roundTrip(rawRequest(srv.Listener.Addr().String(), body), nil)
	if err != nil || status != http.StatusOK {
		b.Fatalf("status %d, err %v: %s", status, err, out)
	}
	var resp struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Result  json.RawMessage `json:"result"`
		Error   json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(out, &resp); err != nil || resp.JSONRPC != "2.0" || string(resp.ID) != "1" ||
		len(resp.Result) == 0 || resp.Error != nil {
		b.Fatalf("not a JSON-RPC result for id 1: %s", out)
	}
	return bytes.Clone(out)
}

// runHTTP measures req against srv from 8×GOMAXPROCS kept-alive
// connections, checking every response's status and size.
func runHTTP(b *testing.B, srv *httptest.Server, body string, wantLen int) {
	req := rawRequest(srv.Listener.Addr().String(), body)
	var (
		mu    sync.Mutex
		conns []*benchConn
	)
	defer func() {
		for _, c := range conns {
			c.c.Close()
		}
	}()
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	start := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		bc := dial(b, srv)
		mu.Lock()
		conns = append(conns, bc)
		mu.Unlock()
		buf := make([]byte, 0, 16<<10)
		for pb.Next() {
			status, out, err := bc.roundTrip(req, buf)
			if err != nil || status != http.StatusOK || len(out) != wantLen {
				b.Errorf("status %d, %d bytes (want %d), err %v", status, len(out), wantLen, err)
				return
			}
			buf = out
		}
	})
	cpu := cpuTime() - start
	b.StopTimer()
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
}

type benchTarget struct {
	name string
	h    http.Handler
}

// benchTargets starts the floor and both stacks and checks each answers body
// with exactly the bytes plain go-sdk wrote. It returns the servers (floor
// first), their names and the expected response length.
func benchTargets(tb testing.TB, body string, call bool) ([]*httptest.Server, []string, int) {
	stack := httptest.NewServer(ourStack(tb, true))
	tb.Cleanup(stack.Close)
	noFast := httptest.NewServer(ourStack(tb, false))
	tb.Cleanup(noFast.Close)
	want := fetch(tb, noFast, body)
	tail := want[len(`{"jsonrpc":"2.0","id":1`):]
	floor := httptest.NewServer(floorHandler(tail, call))
	tb.Cleanup(floor.Close)
	servers := []*httptest.Server{floor, stack, noFast}
	names := []string{"floor", "stack", "stack-nofast"}
	for i, srv := range servers {
		if got := fetch(tb, srv, body); !bytes.Equal(got, want) {
			tb.Fatalf("%s answers\n%s\nplain go-sdk\n%s", names[i], got, want)
		}
	}
	return servers, names, len(want)
}

func benchAgainstFloor(b *testing.B, body string, call bool) {
	servers, names, wantLen := benchTargets(b, body, call)
	for i, srv := range servers {
		b.Run(names[i], func(b *testing.B) { runHTTP(b, srv, body, wantLen) })
	}
}

// BenchmarkToolsList: tools/list (20 tools) through the whole stack, with
// and without the fast path, against the floor.
func BenchmarkToolsList(b *testing.B) { benchAgainstFloor(b, benchListBody, false) }

// BenchmarkToolsCallEcho: a trivial tools/call through the whole stack
// (one-shot path, oneshot.go) and through plain go-sdk (stack-nofast)
// against the floor.
func BenchmarkToolsCallEcho(b *testing.B) { benchAgainstFloor(b, benchEchoBody, true) }

// TestBenchHarness keeps the benchmark set-up correct under go test: every
// target answers both requests with plain go-sdk's bytes.
func TestBenchHarness(t *testing.T) {
	benchTargets(t, benchListBody, false)
	benchTargets(t, benchEchoBody, true)
}
