// Package scaleout_test runs crm-mcp as a fleet of real processes on
// loopback (3 mcp replicas and 2 api replicas behind nginx, one private
// Redis, a fresh PostgreSQL database) and proves that no replica keeps
// state another one needs.
package scaleout_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/portpick"
)

// TestScaleOut runs every proof on a fleet sharing one Redis, then on a
// fleet sharing a 3-master Redis Cluster (CRM_MCP_REDIS_CLUSTER=true).
func TestScaleOut(t *testing.T) {
	for _, mode := range []struct {
		name    string
		cluster bool
	}{{"single redis", false}, {"redis cluster", true}} {
		t.Run(mode.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 6*time.Minute)
			defer cancel()
			c := startCluster(ctx, t, 3, 2, fleetOptions{RedisCluster: mode.cluster})
			scaleOutProofs(ctx, t, c)
		})
	}
}

func scaleOutProofs(ctx context.Context, t *testing.T, c *cluster) {
	// (a) One OAuth flow whose every step lands on another replica: sent
	// straight to each in turn, then the same through nginx.
	t.Run("oauth flow across replicas", func(t *testing.T) {
		direct := newClient(t, c.PublicURL, ip(1), roundRobin(c.MCP...))
		id, tk := direct.login(ctx)
		tk2, r := direct.refresh(ctx, id, tk.RefreshToken)
		if r.status != http.StatusOK || tk2.AccessToken == "" || tk2.RefreshToken == tk.RefreshToken {
			t.Fatalf("refresh: %d %s", r.status, r.body)
		}
		res, result := direct.callTool(ctx, tk2.AccessToken, "searchPeople", `{"pageSize":2}`)
		if res.status != http.StatusOK || !strings.Contains(string(result), `"totalResults"`) {
			t.Fatalf("tool call with the refreshed token: %d %s", res.status, res.body)
		}
		for i, got := range direct.Instances {
			if want := "mcp-" + string(rune('0'+i%3)); got != want {
				t.Errorf("step %d answered by %q, want %q (steps: %v)", i, got, want, direct.Instances)
			}
		}
		if len(direct.Instances) < 8 {
			t.Errorf("only %d steps: %v", len(direct.Instances), direct.Instances)
		}

		viaLB := newClient(t, c.PublicURL, ip(1), func(int) string { return c.PublicURL })
		id, tk = viaLB.login(ctx)
		if _, r := viaLB.refresh(ctx, id, tk.RefreshToken); r.status != http.StatusOK {
			t.Fatalf("refresh through nginx: %d %s", r.status, r.body)
		}
		if n := len(distinct(viaLB.Instances)); n != 3 {
			t.Errorf("through nginx the flow met %d replicas, want all 3: %v", n, viaLB.Instances)
		}
		t.Logf("direct: %v; through nginx: %v", direct.Instances, viaLB.Instances)
	})

	// (b) 50 concurrent redemptions of one code through nginx: exactly one
	// wins, whichever replicas they reach.
	t.Run("one code redeemed once", func(t *testing.T) {
		cl := newClient(t, c.PublicURL, ip(2), func(int) string { return c.PublicURL })
		id, r := cl.register(ctx)
		if r.status != http.StatusCreated {
			t.Fatalf("register: %d %s", r.status, r.body)
		}
		code, verifier := cl.authorize(ctx, id)
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			statuses = map[int]int{}
			winners  = map[string]int{}
		)
		start := make(chan struct{})
		for range 50 {
			wg.Go(func() {
				<-start
				form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
					"client_id": {id}, "redirect_uri": {redirectURI}, "resource": {c.PublicURL + "/mcp"}}
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.PublicURL+"/token", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("X-Forwarded-For", ip(2))
				resp, err := http.DefaultClient.Do(req)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					statuses[-1]++
					return
				}
				resp.Body.Close()
				statuses[resp.StatusCode]++
				winners[resp.Header.Get(instanceHdr)] += map[bool]int{true: 1}[resp.StatusCode == http.StatusOK]
			})
		}
		close(start)
		wg.Wait()
		if statuses[http.StatusOK] != 1 || statuses[http.StatusBadRequest] != 49 {
			t.Errorf("statuses = %v, want one 200 and 49 400 invalid_grant", statuses)
		}
		t.Logf("statuses %v, answered by %v", statuses, winners)
		if len(winners) < 2 {
			t.Errorf("the redemptions reached %d replicas, want several: %v", len(winners), winners)
		}
	})

	// (c) A token revoked on one replica is refused by every replica within
	// one second.
	t.Run("revocation seen everywhere", func(t *testing.T) {
		cl := newClient(t, c.PublicURL, ip(3), func(int) string { return c.PublicURL })
		id, tk := cl.login(ctx)
		for i, base := range c.MCP {
			one := newClient(t, c.PublicURL, ip(3), func(int) string { return base })
			if r, _ := one.callTool(ctx, tk.AccessToken, "searchPeople", `{"pageSize":1}`); r.status != http.StatusOK {
				t.Fatalf("replica %d before revocation: %d %s", i, r.status, r.body)
			}
		}
		rev := newClient(t, c.PublicURL, ip(3), func(int) string { return c.MCP[0] })
		if r := rev.do(ctx, http.MethodPost, "/revoke", url.Values{"token": {tk.AccessToken}, "token_type_hint": {"access_token"}, "client_id": {id}}, nil); r.status != http.StatusOK {
			t.Fatalf("revoke on mcp-0: %d %s", r.status, r.body)
		}
		revoked := time.Now()
		for i, base := range c.MCP {
			one := newClient(t, c.PublicURL, ip(3), func(int) string { return base })
			for {
				r, _ := one.callTool(ctx, tk.AccessToken, "searchPeople", `{"pageSize":1}`)
				if r.status == http.StatusUnauthorized {
					break
				}
				if time.Since(revoked) > time.Second {
					t.Fatalf("replica %d still accepts the revoked token after %v: %d", i, time.Since(revoked), r.status)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		t.Logf("refused by all replicas %v after the revocation", time.Since(revoked))
	})

	// (d) Rate limits are global: register=5/1m per client IP, counted
	// in Redis, whichever replica a request reaches.
	t.Run("rate limits are global", func(t *testing.T) {
		// The windows are fixed minutes of Redis's clock: across a
		// minute's end the sixth registration would pass.
		waitClearOfMinuteBoundary(t, 10*time.Second)
		cl := newClient(t, c.PublicURL, ip(4), func(int) string { return c.PublicURL })
		for i := range 5 {
			if _, r := cl.register(ctx); r.status != http.StatusCreated {
				t.Fatalf("register %d: %d %s", i+1, r.status, r.body)
			}
		}
		if n := len(distinct(cl.Instances)); n < 2 {
			t.Errorf("5 registrations through nginx met %d replicas: %v", n, cl.Instances)
		}
		for i, base := range append([]string{c.PublicURL}, c.MCP...) {
			one := newClient(t, c.PublicURL, ip(4), func(int) string { return base })
			_, r := one.register(ctx)
			if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
				t.Errorf("registration %d (via %s, instance %s): %d %s, want 429 with Retry-After", 6+i, base, r.instance, r.status, r.body)
			}
		}
		// Another client address is counted apart (X-Forwarded-For from
		// the trusted proxy is believed).
		other := newClient(t, c.PublicURL, ip(40), func(int) string { return c.PublicURL })
		if _, r := other.register(ctx); r.status != http.StatusCreated {
			t.Errorf("another client's registration: %d %s", r.status, r.body)
		}
	})

	// (f) A search's pages come from the shared snapshot: page 1 on one
	// replica, page 2 with its retrievalId on another.
	t.Run("search pagination across replicas", func(t *testing.T) {
		cl := newClient(t, c.PublicURL, ip(5), func(int) string { return c.PublicURL })
		_, tk := cl.login(ctx)
		a := newClient(t, c.PublicURL, ip(5), func(int) string { return c.MCP[0] })
		b := newClient(t, c.PublicURL, ip(5), func(int) string { return c.MCP[1] })
		type page struct {
			RetrievalID  string `json:"retrievalId"`
			Page         int    `json:"page"`
			TotalResults int    `json:"totalResults"`
			Results      []struct {
				ID string `json:"id"`
			} `json:"results"`
		}
		read := func(cl *client, args string) page {
			r, res := cl.callTool(ctx, tk.AccessToken, "searchPeople", args)
			var out struct {
				StructuredContent page `json:"structuredContent"`
				IsError           bool `json:"isError"`
			}
			if r.status != http.StatusOK || json.Unmarshal(res, &out) != nil || out.IsError {
				t.Fatalf("searchPeople %s on %s: %d %s", args, r.instance, r.status, r.body)
			}
			return out.StructuredContent
		}
		p1 := read(a, `{"pageSize":3}`)
		if p1.RetrievalID == "" || len(p1.Results) != 3 || p1.TotalResults <= 3 {
			t.Fatalf("page 1: %+v", p1)
		}
		p2 := read(b, `{"retrievalId":"`+p1.RetrievalID+`","page":2,"pageSize":3}`)
		if p2.Page != 2 || len(p2.Results) == 0 || p2.TotalResults != p1.TotalResults {
			t.Fatalf("page 2 on another replica: %+v (page 1: %+v)", p2, p1)
		}
		seen := map[string]bool{}
		for _, r := range p1.Results {
			seen[r.ID] = true
		}
		for _, r := range p2.Results {
			if seen[r.ID] {
				t.Errorf("page 2 repeats %s from page 1", r.ID)
			}
		}
		if a.Instances[0] != "mcp-0" || b.Instances[0] != "mcp-1" {
			t.Errorf("pages answered by %v and %v", a.Instances, b.Instances)
		}
	})

	// (e) A list_changed published by one replica reaches the notification
	// streams held by the others: a new replica starting with a tool set
	// whose fingerprint differs from the one in Redis announces it.
	t.Run("list_changed fans out", func(t *testing.T) {
		cl := newClient(t, c.PublicURL, ip(6), func(int) string { return c.PublicURL })
		_, tk := cl.login(ctx)
		events := make(chan string, 16)
		for _, base := range c.MCP[:2] {
			openStream(ctx, t, base, c.PublicURL, tk.AccessToken, events)
		}
		for range 2 { // every (re)connect starts with list_changed
			waitEvent(ctx, t, events, "the initial list_changed")
		}
		rdb := c.redisClient(t)
		if err := rdb.Set(ctx, "crm:{notify}:tools-fingerprint", "an older tool set", time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
		a := portpick.Test(t).Addr()
		c.startMCP(ctx, t, 3, a)
		c.waitReady(ctx, t, "http://"+a)
		got := map[string]bool{}
		for range 2 {
			got[waitEvent(ctx, t, events, "list_changed from the new replica")] = true
		}
		if !got["mcp-0"] || !got["mcp-1"] {
			t.Errorf("list_changed reached %v, want the streams on mcp-0 and mcp-1", got)
		}
	})
}

// openStream opens GET /mcp (2025-06-18 notification stream) on base and
// sends "instance" to events for every tools/list_changed it receives.
func openStream(ctx context.Context, t *testing.T, base, public, at string, events chan<- string) {
	t.Helper()
	u, _ := url.Parse(public)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/mcp", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = u.Host
	req.Header.Set("Authorization", "Bearer "+at)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-06-18")
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		t.Fatalf("open stream on %s: %v", base, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		t.Fatalf("open stream on %s: %d", base, resp.StatusCode)
	}
	instance := resp.Header.Get(instanceHdr)
	t.Cleanup(func() { resp.Body.Close() })
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "data:") && strings.Contains(sc.Text(), "notifications/tools/list_changed") {
				select {
				case events <- instance:
				default:
				}
			}
		}
	}()
}

func waitEvent(ctx context.Context, t *testing.T, events <-chan string, what string) string {
	t.Helper()
	select {
	case id := <-events:
		return id
	case <-time.After(20 * time.Second):
		t.Fatalf("no %s within 20s", what)
	case <-ctx.Done():
		t.Fatalf("no %s: %v", what, ctx.Err())
	}
	return ""
}
