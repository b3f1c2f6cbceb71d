package scaleout_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// faultRateLimits keep the fault tests' steady load far below every limit
// except register (5/1m per client IP, to see the limiter's fallback).
const faultRateLimits = "register=5/1m,token=100000/15m,authorize=1000/15m,login=1000/15m,consent=1000/15m,revoke=1000/15m,login_account=1000/15m,mcp_user=100000/1m,mcp_tenant=100000/1m,mcp_tool=100000/1m"

// outcome is one request of the background load.
type outcome struct {
	start, end time.Time
	op         string // call, list, refresh
	class      string // ok, tool_error, status_NNN, transport
	detail     string
}

// loadGen runs non-streaming requests (tools/call, tools/list, token
// refresh) through nginx from a few goroutines, each with its own user
// session, and records every outcome.
type loadGen struct {
	mu       sync.Mutex
	outcomes []outcome
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

type worker struct {
	base, host, ip string
	clientID       string
	at, rt         string
	http           *http.Client
}

// startLoad logs in n workers through base (nginx) and starts them; each
// sends a request, waits pause, and so on until stop.
func startLoad(ctx context.Context, t *testing.T, c *cluster, n int, pause time.Duration) *loadGen {
	t.Helper()
	u, _ := url.Parse(c.PublicURL)
	var ws []*worker
	for i := range n {
		cl := newClient(t, c.PublicURL, ip(100+i), func(int) string { return c.PublicURL })
		id, tk := cl.login(ctx)
		ws = append(ws, &worker{base: c.PublicURL, host: u.Host, ip: ip(100 + i), clientID: id, at: tk.AccessToken, rt: tk.RefreshToken,
			http: &http.Client{Timeout: 20 * time.Second}})
	}
	lctx, cancel := context.WithCancel(ctx)
	g := &loadGen{cancel: cancel}
	for _, w := range ws {
		g.wg.Go(func() {
			for i := 0; lctx.Err() == nil; i++ {
				op := [...]string{"call", "list", "refresh"}[i%3]
				o := w.one(lctx, op)
				if lctx.Err() != nil && o.class == "transport" {
					return // cut by stop
				}
				g.mu.Lock()
				g.outcomes = append(g.outcomes, o)
				g.mu.Unlock()
				select {
				case <-lctx.Done():
				case <-time.After(pause):
				}
			}
		})
	}
	t.Cleanup(g.stop)
	return g
}

func (g *loadGen) stop() { g.cancel(); g.wg.Wait() }

// snapshot returns the outcomes so far.
func (g *loadGen) snapshot() []outcome {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]outcome(nil), g.outcomes...)
}

func (w *worker) one(ctx context.Context, op string) outcome {
	o := outcome{start: time.Now(), op: op}
	var (
		req *http.Request
		err error
	)
	switch op {
	case "call", "list":
		body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"searchPeople","arguments":{"pageSize":1}}}`
		if op == "list" {
			body = `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}`
		}
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, w.base+"/mcp", strings.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			req.Header.Set("MCP-Protocol-Version", "2025-06-18")
			req.Header.Set("Authorization", "Bearer "+w.at)
		}
	case "refresh":
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {w.rt}, "client_id": {w.clientID}}
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, w.base+"/token", strings.NewReader(form.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	if err != nil {
		panic(err)
	}
	req.Host = w.host
	req.Header.Set("X-Forwarded-For", w.ip)
	resp, err := w.http.Do(req)
	o.end = time.Now()
	if err != nil {
		o.class, o.detail = "transport", err.Error()
		return o
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	o.end = time.Now()
	if err != nil {
		// A body cut short is a transport failure, not a wrong answer.
		// Above all when stop cancels a request mid-body: the loop drops
		// such transport outcomes, but a 200 read short used to count as
		// bad_body ("tools/list without searchPeople": tools/list has the
		// longest body, 60 KB; seen cut at 3 868 bytes, 1 ms before the
		// end of a run).
		o.class, o.detail = "transport", fmt.Sprintf("status %d, body cut after %d bytes: %v", resp.StatusCode, len(b), err)
		return o
	}
	if resp.StatusCode != http.StatusOK {
		o.class, o.detail = "status_"+strconv.Itoa(resp.StatusCode), string(b)
		return o
	}
	o.class = "ok"
	switch op {
	case "refresh":
		var tk tokens
		if json.Unmarshal(b, &tk) != nil || tk.AccessToken == "" || tk.RefreshToken == "" {
			o.class, o.detail = "bad_body", string(b)
			return o
		}
		w.at, w.rt = tk.AccessToken, tk.RefreshToken
	case "call":
		var rpc struct {
			Result *struct {
				IsError bool `json:"isError"`
			} `json:"result"`
		}
		if json.Unmarshal(b, &rpc) != nil || rpc.Result == nil {
			o.class, o.detail = "bad_body", string(b)
		} else if rpc.Result.IsError {
			o.class, o.detail = "tool_error", string(b)
		}
	case "list":
		if !strings.Contains(string(b), `"searchPeople"`) {
			o.class, o.detail = "bad_body", string(b)
		}
	}
	return o
}

// summary counts outcomes by class, and the slowest request.
func summary(os []outcome) (map[string]int, time.Duration) {
	m := map[string]int{}
	var slowest time.Duration
	for _, o := range os {
		m[o.class]++
		slowest = max(slowest, o.end.Sub(o.start))
	}
	return m, slowest
}

// failures are the outcomes other than ok.
func failures(os []outcome) []outcome {
	var out []outcome
	for _, o := range os {
		if o.class != "ok" {
			out = append(out, o)
		}
	}
	return out
}

// between returns the outcomes that started in [from, to).
func between(os []outcome, from, to time.Time) []outcome {
	var out []outcome
	for _, o := range os {
		if !o.start.Before(from) && o.start.Before(to) {
			out = append(out, o)
		}
	}
	return out
}

func describe(os []outcome, max int) string {
	sort.Slice(os, func(i, j int) bool { return os[i].start.Before(os[j].start) })
	var b strings.Builder
	for i, o := range os {
		if i == max {
			fmt.Fprintf(&b, "  … %d more\n", len(os)-max)
			break
		}
		d := o.detail
		if len(d) > 300 {
			// Both ends: a truncated or odd body shows at its end.
			d = fmt.Sprintf("%s … %s (%d bytes)", d[:150], d[len(d)-150:], len(d))
		}
		fmt.Fprintf(&b, "  %s %s %s (%v) %s\n", o.start.Format("15:04:05.000"), o.op, o.class, o.end.Sub(o.start).Round(time.Millisecond), d)
	}
	return b.String()
}

// sseClient holds a notification stream through nginx and reconnects
// after the server's retry: hint whenever the stream ends, counting
// list_changed events per connection.
type sseClient struct {
	mu         sync.Mutex
	conns      []string // instance of each connection, in order
	events     []int    // list_changed received on each connection
	retryHints int
	done       chan struct{}
}

func startSSE(ctx context.Context, t *testing.T, c *cluster, at string) *sseClient {
	s := &sseClient{done: make(chan struct{})}
	u, _ := url.Parse(c.PublicURL)
	go func() {
		defer close(s.done)
		for ctx.Err() == nil {
			retry := 500 * time.Millisecond
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.PublicURL+"/mcp", nil)
			req.Host = u.Host
			req.Header.Set("Authorization", "Bearer "+at)
			req.Header.Set("Accept", "text/event-stream")
			req.Header.Set("MCP-Protocol-Version", "2025-06-18")
			resp, err := http.DefaultClient.Do(req)
			if err == nil && resp.StatusCode == http.StatusOK {
				s.mu.Lock()
				s.conns = append(s.conns, resp.Header.Get(instanceHdr))
				s.events = append(s.events, 0)
				idx := len(s.events) - 1
				s.mu.Unlock()
				sc := bufio.NewScanner(resp.Body)
				for sc.Scan() {
					line := sc.Text()
					if v, ok := strings.CutPrefix(line, "retry:"); ok {
						if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
							retry = time.Duration(n) * time.Millisecond
							s.mu.Lock()
							s.retryHints++
							s.mu.Unlock()
						}
					}
					if strings.HasPrefix(line, "data:") && strings.Contains(line, "notifications/tools/list_changed") {
						s.mu.Lock()
						s.events[idx]++
						s.mu.Unlock()
					}
				}
				resp.Body.Close()
			} else if err == nil {
				resp.Body.Close()
			}
			select {
			case <-ctx.Done():
			case <-time.After(retry):
			}
		}
	}()
	return s
}

func (s *sseClient) state() (conns []string, events []int, hints int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.conns...), append([]int(nil), s.events...), s.retryHints
}
