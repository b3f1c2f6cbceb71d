package loadbench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/crm"
)

// Operations of the workload (names of the -mix flag).
const (
	opSearch   = "searchPeople"      // first page of a search
	opPage     = "searchPeople.page" // the next page of this user's last search, by retrievalId
	opInfo     = "getPersonInfo"
	opPipeline = "getPipeline"
	opNote     = "addNote"
	opTask     = "createTask"
	opMove     = "moveStage" // interview ↔ screening
	opList     = "tools/list"
	opRefresh  = "token.refresh" // a real refresh_token grant at /token
)

var allOps = []string{opSearch, opPage, opInfo, opPipeline, opNote, opTask, opMove, opList, opRefresh}

// DefaultMix weighs the operations: reads dominate, about a fifth writes.
const DefaultMix = "searchPeople=20,searchPeople.page=10,getPersonInfo=25,getPipeline=10,addNote=8,createTask=6,moveStage=6,tools/list=10,token.refresh=5"

// searchArgs are the searches users make (all match many people, so there
// is a second page).
var searchArgs = []string{
	`{"query":"Go","filters":{"location":"Berlin"}}`,
	`{"filters":{"location":"Berlin","skills":["Go"]}}`,
	`{"filters":{"skills":["Python"]}}`,
	`{"query":"engineer"}`,
	`{"filters":{"stage":"interview"}}`,
	`{"query":"developer","filters":{"location":"London"}}`,
}

// target is one server under load.
type target struct {
	name  string
	host  string // host:port
	floor bool   // no bearer: X-Loadbench-Tenant/User headers instead
	pids  []int  // server processes, for CPU (none: not measured)
}

// user is one caller: an access token in a tenant.
type user struct {
	tenant *tenantData
	id     string
	token  string
}

// workload is what the workers draw from.
type workload struct {
	users  []*user
	chains chan *chain // refresh chains, one request at a time each
	table  []string    // operations, repeated by weight
}

func parseMix(s string) ([]string, error) {
	var table []string
	for part := range strings.SplitSeq(s, ",") {
		name, w, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(w)
		if !ok || err != nil || n < 0 || !slices.Contains(allOps, name) {
			return nil, fmt.Errorf("mix entry %q: want op=weight with op one of %s", part, strings.Join(allOps, ", "))
		}
		for range n {
			table = append(table, name)
		}
	}
	if len(table) == 0 {
		return nil, errors.New("mix: every weight is zero")
	}
	return table, nil
}

// conn is a kept-alive connection with pre-built request heads.
type conn struct {
	t   *target
	c   net.Conn
	br  *bufio.Reader
	u   *user
	rng *rand.Rand

	mcpHead   []byte // up to "Content-Length: "
	tokenHead []byte
	req, body []byte // reused
	retrieval string // the last search's retrievalId, for the next page
	page      int
	seq       int
}

func dial(t *target, u *user, seed uint64) (*conn, error) {
	c, err := net.Dial("tcp", t.host)
	if err != nil {
		return nil, err
	}
	auth := "Authorization: Bearer " + u.token + "\r\n"
	if t.floor {
		auth = "X-Loadbench-Tenant: " + u.tenant.id + "\r\nX-Loadbench-User: " + u.id + "\r\n"
	}
	return &conn{
		t: t, c: c, br: bufio.NewReaderSize(c, 64<<10), u: u, rng: rand.New(rand.NewPCG(seed, 0x10adbe4c)),
		mcpHead: []byte("POST /mcp HTTP/1.1\r\nHost: " + t.host + "\r\nContent-Type: application/json\r\n" +
			"Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2025-06-18\r\n" + auth + "Content-Length: "),
		tokenHead: []byte("POST /token HTTP/1.1\r\nHost: " + t.host + "\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: "),
	}, nil
}

func (c *conn) redial() error {
	c.c.Close()
	nc, err := net.Dial("tcp", c.t.host)
	if err != nil {
		return err
	}
	c.c, c.br = nc, bufio.NewReaderSize(nc, 64<<10)
	return nil
}

var (
	okPrefix   = []byte(`{"jsonrpc":"2.0","id":1,"result":`)
	isError    = []byte(`"isError":true`)
	retrKey    = []byte(`"retrievalId":"`)
	refreshKey = []byte(`"refresh_token":"`)
)

// send writes head+len+body and reads the answer into c.body.
func (c *conn) send(head []byte, body string) (int, error) {
	c.req = append(append(append(append(c.req[:0], head...), strconv.Itoa(len(body))...), "\r\n\r\n"...), body...)
	if _, err := c.c.Write(c.req); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return 0, err
	}
	w := bytes.NewBuffer(c.body[:0])
	_, err = io.Copy(w, resp.Body)
	resp.Body.Close()
	c.body = w.Bytes()
	return resp.StatusCode, err
}

func callBody(tool, args string) string {
	return `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"` + tool + `","arguments":` + args + `}}`
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// do runs one operation and returns the operation actually made (a page
// without an earlier search becomes a search).
func (c *conn) do(op string, w *workload) (string, error) {
	td := c.u.tenant
	var body string
	var app *appState
	var next crm.Stage
	switch op {
	case opPage:
		if c.retrieval == "" {
			op = opSearch
			body = callBody("searchPeople", pick(c.rng, searchArgs))
			break
		}
		c.page++
		body = callBody("searchPeople", `{"retrievalId":"`+c.retrieval+`","page":`+strconv.Itoa(c.page)+`}`)
	case opSearch:
		body = callBody("searchPeople", pick(c.rng, searchArgs))
	case opInfo:
		body = callBody("getPersonInfo", `{"personId":"`+pick(c.rng, td.people)+`"}`)
	case opPipeline:
		body = callBody("getPipeline", `{"jobId":"`+pick(c.rng, td.jobs)+`"}`)
	case opNote:
		c.seq++
		body = callBody("addNote", `{"personId":"`+pick(c.rng, td.people)+`","body":"Load test: phone screen `+strconv.Itoa(c.seq)+`, keen on the role, available in March."}`)
	case opTask:
		body = callBody("createTask", `{"personId":"`+pick(c.rng, td.people)+`","title":"Follow up after the interview","dueAt":"2026-02-0`+strconv.Itoa(1+c.rng.IntN(9))+`"}`)
	case opMove:
		for range 8 {
			if a := pick(c.rng, td.apps); a.busy.CompareAndSwap(false, true) {
				app = a
				break
			}
		}
		if app == nil {
			return op, errors.New("moveStage: no free application (too few applications for the concurrency)")
		}
		defer app.busy.Store(false)
		next = crm.StageInterview
		if app.stage.Load().(crm.Stage) == crm.StageInterview {
			next = crm.StageScreening
		}
		body = callBody("moveStage", `{"applicationId":"`+app.id+`","stage":"`+string(next)+`"}`)
	case opList:
		body = `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`
	case opRefresh:
		ch := <-w.chains
		defer func() { w.chains <- ch }()
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {ch.refresh}, "client_id": {ch.clientID}}.Encode()
		status, err := c.send(c.tokenHead, form)
		if err != nil {
			return op, err
		}
		i := bytes.Index(c.body, refreshKey)
		if status != http.StatusOK || i < 0 {
			return op, fmt.Errorf("status %d: %.200s", status, c.body)
		}
		if !c.t.floor { // the floor answers fixed bytes: keep the real token
			rest := c.body[i+len(refreshKey):]
			ch.refresh = string(rest[:bytes.IndexByte(rest, '"')])
		}
		return op, nil
	default:
		return op, fmt.Errorf("unknown operation %q", op)
	}
	status, err := c.send(c.mcpHead, body)
	if err != nil {
		return op, err
	}
	if status != http.StatusOK || !bytes.HasPrefix(c.body, okPrefix) || bytes.Contains(c.body, isError) {
		return op, fmt.Errorf("status %d: %.300s", status, c.body)
	}
	switch op {
	case opSearch:
		c.retrieval, c.page = "", 1
		if i := bytes.Index(c.body, retrKey); i >= 0 {
			rest := c.body[i+len(retrKey):]
			c.retrieval = string(rest[:bytes.IndexByte(rest, '"')])
		}
	case opPage:
		if c.page >= 3 || !bytes.Contains(c.body, []byte(`"nextCall"`)) && !c.t.floor {
			c.retrieval = "" // the next page op starts a new search
		}
	case opMove:
		app.stage.Store(next)
	}
	return op, nil
}

// opStats are one operation's results in one phase.
type opStats struct {
	lat      []time.Duration
	errors   int
	firstErr string
}

// phaseResult is one target's measurement in one phase.
type phaseResult struct {
	elapsed   time.Duration
	ops       map[string]*opStats
	dropped   int
	serverCPU time.Duration // -1 when not measured
	clientCPU time.Duration
	offered   float64 // open loop: requests per second scheduled
}

func (p *phaseResult) add(op string, d time.Duration, err error) {
	s := p.ops[op]
	if s == nil {
		s = &opStats{}
		p.ops[op] = s
	}
	if err != nil {
		if s.errors == 0 {
			s.firstErr = err.Error()
		}
		s.errors++
		return
	}
	s.lat = append(s.lat, d)
}

func (p *phaseResult) merge(q *phaseResult) {
	for op, s := range q.ops {
		for _, d := range s.lat {
			p.add(op, d, nil)
		}
		if s.errors > 0 {
			t := p.ops[op]
			if t.errors == 0 {
				t.firstErr = s.firstErr
			}
			t.errors += s.errors
		}
	}
}

func (p *phaseResult) total() (n, errs int, lat []time.Duration) {
	for _, s := range p.ops {
		n += len(s.lat)
		errs += s.errors
		lat = append(lat, s.lat...)
	}
	slices.Sort(lat)
	return n, errs, lat
}

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

// cpuOf returns the user+system CPU of the processes so far, or -1 if
// there are none or one cannot be read.
func cpuOf(pids []int) time.Duration {
	if len(pids) == 0 {
		return -1
	}
	var total time.Duration
	for _, pid := range pids {
		raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return -1
		}
		f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
		if len(f) < 13 {
			return -1
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		stm, _ := strconv.ParseInt(f[12], 10, 64)
		total += time.Duration(ut+stm) * time.Second / clockTicks
	}
	return total
}

// clockTicks is USER_HZ, 100 on every Linux architecture Go supports.
const clockTicks = 100

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// closedLoop runs conns connections back to back: warmup, then d measured.
func closedLoop(t *target, w *workload, conns int, warmup, d time.Duration) (*phaseResult, error) {
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		measure atomic.Bool
		stop    atomic.Bool
	)
	res := &phaseResult{ops: map[string]*opStats{}}
	var cs []*conn
	for i := range conns {
		c, err := dial(t, w.users[i%len(w.users)], uint64(i+1))
		if err != nil {
			for _, c := range cs {
				c.c.Close()
			}
			return nil, err
		}
		cs = append(cs, c)
	}
	for _, c := range cs {
		wg.Go(func() {
			defer c.c.Close()
			local := &phaseResult{ops: map[string]*opStats{}}
			for !stop.Load() {
				s := time.Now()
				op, err := c.do(pick(c.rng, w.table), w)
				if measure.Load() {
					local.add(op, time.Since(s), err)
				}
				if err != nil && c.redial() != nil {
					time.Sleep(10 * time.Millisecond)
				}
			}
			mu.Lock()
			res.merge(local)
			mu.Unlock()
		})
	}
	time.Sleep(warmup)
	s0, c0, start := cpuOf(t.pids), selfCPU(), time.Now()
	measure.Store(true)
	time.Sleep(d)
	measure.Store(false)
	res.elapsed = time.Since(start)
	s1, c1 := cpuOf(t.pids), selfCPU()
	stop.Store(true)
	wg.Wait()
	res.serverCPU, res.clientCPU = s1-s0, c1-c0
	if s0 < 0 || s1 < 0 {
		res.serverCPU = -1
	}
	return res, nil
}

// openLoop offers rate requests per second for d on a fixed schedule from
// up to conns connections, whatever the answers' speed. Each latency runs
// from the request's scheduled time, so queueing behind slow answers counts
// (no coordinated omission). Requests not started by d + drain are dropped.
func openLoop(t *target, w *workload, conns int, rate float64, d, drain time.Duration, seed uint64) (*phaseResult, error) {
	n := int(rate * d.Seconds())
	interval := time.Duration(float64(time.Second) / rate)
	type job struct {
		at time.Time
		op string
	}
	jobs := make(chan job, n)
	res := &phaseResult{ops: map[string]*opStats{}, offered: rate}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		dropped atomic.Int64
		cs      []*conn
	)
	for i := range conns {
		c, err := dial(t, w.users[i%len(w.users)], seed+uint64(i))
		if err != nil {
			for _, c := range cs {
				c.c.Close()
			}
			return nil, err
		}
		cs = append(cs, c)
	}
	start := time.Now()
	deadline := start.Add(d + drain)
	for _, c := range cs {
		wg.Go(func() {
			defer c.c.Close()
			local := &phaseResult{ops: map[string]*opStats{}}
			for j := range jobs {
				if time.Now().After(deadline) {
					dropped.Add(1)
					continue
				}
				op, err := c.do(j.op, w)
				local.add(op, time.Since(j.at), err)
				if err != nil && c.redial() != nil {
					time.Sleep(10 * time.Millisecond)
				}
			}
			mu.Lock()
			res.merge(local)
			mu.Unlock()
		})
	}
	rng := rand.New(rand.NewPCG(seed, 0x09e41009))
	s0, c0 := cpuOf(t.pids), selfCPU()
	for i := range n {
		at := start.Add(time.Duration(i) * interval)
		if wait := time.Until(at); wait > 0 {
			time.Sleep(wait)
		}
		jobs <- job{at, pick(rng, w.table)}
	}
	close(jobs)
	wg.Wait()
	res.elapsed = time.Since(start)
	s1, c1 := cpuOf(t.pids), selfCPU()
	res.serverCPU, res.clientCPU, res.dropped = s1-s0, c1-c0, int(dropped.Load())
	if s0 < 0 || s1 < 0 {
		res.serverCPU = -1
	}
	return res, nil
}

// capture makes one request of each operation against the stack and keeps
// the answers for the floors (see captures).
func capture(t *target, w *workload) (captures, error) {
	c, err := dial(t, w.users[0], 99)
	if err != nil {
		return nil, err
	}
	defer c.c.Close()
	caps := captures{}
	for _, op := range []string{opSearch, opPage, opInfo, opPipeline, opNote, opTask, opMove, opList, opRefresh} {
		if !slices.Contains(w.table, op) {
			// Not in the mix: nobody asks floor-bytes for it, and a
			// refresh without chains would wait for one forever.
			continue
		}
		got, err := c.do(op, w)
		// floor-bytes must answer a search with a retrievalId, so that
		// its clients page too: search until one has a second page.
		for try := 0; op == opSearch && err == nil && c.retrieval == "" && try < 50; try++ {
			got, err = c.do(op, w)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if got != op {
			return nil, fmt.Errorf("%s: made %s instead", op, got)
		}
		if op == opRefresh {
			caps[op] = string(c.body)
			continue
		}
		caps[op] = string(c.body[len(okPrefix)-len(`,"result":`):])
	}
	if _, ok := caps[opRefresh]; ok && !json.Valid([]byte(caps[opRefresh])) {
		return nil, errors.New("token response is not JSON")
	}
	return caps, nil
}
