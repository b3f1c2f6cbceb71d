package loadbench

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/config"
	"github.com/crm-mcp/crm-mcp/internal/identity"
	"github.com/crm-mcp/crm-mcp/internal/portpick"
	"github.com/crm-mcp/crm-mcp/internal/token"
)

// Config is one harness invocation.
type Config struct {
	// Dir holds the SQLite store (crm.db), seeded on first use and reused
	// after (a directory seeded by internal/app's benchmark is completed
	// with the third tenant). If empty, a temporary directory.
	Dir string
	// DatabaseURL selects a PostgreSQL CRM store instead (already seeded,
	// e.g. by "crm-mcp seed"); the floors read it too.
	DatabaseURL string
	// People per tenant when seeding. If zero, 2000.
	People int
	// URL targets a running server (e.g. nginx in front of mcp replicas)
	// instead of starting serve; TokenKeys must then be its
	// CRM_MCP_TOKEN_KEYS and its rate limits high, and ServerPIDs, if
	// given, are the processes whose CPU is counted.
	URL        string
	TokenKeys  string
	ServerPIDs []int
	// Concurrency is the closed loop's connections (one user each, users
	// round robin). If zero, 16. OpenConns bounds the open loop's. If
	// zero, 64.
	Concurrency, OpenConns int
	// Warmup, Duration and Drain time each phase. If zero, 1 s, 10 s, 5 s.
	Warmup, Duration, Drain time.Duration
	// Rate is the open loop's offered rate for every target. If zero,
	// half the stack's closed-loop throughput of the same run.
	Rate float64
	// Runs repeats the whole measurement, targets interleaved. If zero, 1.
	Runs int
	// Mix weighs the operations (DefaultMix if empty).
	Mix string
	// UsersPerTenant added to each of the 3 demo tenants. If zero, 7.
	// ChainsPerTenant refresh-token families, each from a real OAuth
	// flow as the tenant's demo recruiter. If zero, 2.
	UsersPerTenant, ChainsPerTenant int
	// Pin starts every server on core 0 (taskset -c 0); Main also re-runs
	// the harness itself on core 1.
	Pin bool
	// Executable and ChildArgs start a child: Executable (default: this
	// program) with ChildArgs (default: "bench") and CRM_LOADBENCH_CHILD.
	Executable string
	ChildArgs  []string
	// Progress receives progress lines. If nil, discarded.
	Progress io.Writer
}

func (c *Config) defaults() {
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	defD := func(p *time.Duration, v time.Duration) {
		if *p == 0 {
			*p = v
		}
	}
	def(&c.People, 2000)
	def(&c.Concurrency, 16)
	def(&c.OpenConns, 64)
	def(&c.Runs, 1)
	def(&c.UsersPerTenant, 7)
	def(&c.ChainsPerTenant, 2)
	defD(&c.Warmup, time.Second)
	defD(&c.Duration, 10*time.Second)
	defD(&c.Drain, 5*time.Second)
	if c.Mix == "" {
		c.Mix = DefaultMix
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	if c.ChildArgs == nil {
		c.ChildArgs = []string{"bench"}
	}
}

// Report is the outcome of [Run]. Latencies are in milliseconds, CPU in
// microseconds per completed request; -1 means not measured.
type Report struct {
	People       int         `json:"people"`
	Tenants      int         `json:"tenants"`
	Users        int         `json:"users"`
	Chains       int         `json:"refreshChains"`
	Concurrency  int         `json:"concurrency"`
	Mix          string      `json:"mix"`
	Pinned       bool        `json:"pinned"`
	LoadAvgStart string      `json:"loadAvgStart"`
	LoadAvgEnd   string      `json:"loadAvgEnd"`
	Runs         []RunReport `json:"runs"`
}

// RunReport is one repetition: every target, closed then open loop.
type RunReport struct {
	Phases []PhaseReport `json:"phases"`
	// Ratios of the stack against each floor, keyed by floor name.
	Ratios map[string]Ratio `json:"ratios"`
}

// Ratio is the stack against a floor, as in docs/performance.md: both are
// floor cost ÷ stack cost, so 1 means "as cheap as the floor".
type Ratio struct {
	Throughput float64 `json:"throughput"` // stack req/s ÷ floor req/s, closed loop
	CPU        float64 `json:"cpu"`        // floor server CPU/req ÷ stack server CPU/req, closed loop
}

// PhaseReport is one target in one phase ("max": closed loop; "open":
// fixed rate).
type PhaseReport struct {
	Target    string              `json:"target"`
	Phase     string              `json:"phase"`
	Rate      float64             `json:"rate"` // completed requests per second
	Offered   float64             `json:"offered,omitempty"`
	Requests  int                 `json:"requests"`
	Errors    int                 `json:"errors"`
	Dropped   int                 `json:"dropped"`
	P50       float64             `json:"p50Ms"`
	P99       float64             `json:"p99Ms"`
	ServerCPU float64             `json:"serverCpuUs"`
	ClientCPU float64             `json:"clientCpuUs"`
	Ops       map[string]OpReport `json:"ops"`
}

// OpReport is one operation within a phase.
type OpReport struct {
	Count    int     `json:"count"`
	Errors   int     `json:"errors"`
	P50      float64 `json:"p50Ms"`
	P99      float64 `json:"p99Ms"`
	FirstErr string  `json:"firstError,omitempty"`
}

// Errors is the number of failed requests over every run and phase.
func (r *Report) Errors() int {
	n := 0
	for _, run := range r.Runs {
		for _, p := range run.Phases {
			n += p.Errors + p.Dropped
		}
	}
	return n
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func toReport(name, phase string, p *phaseResult) PhaseReport {
	n, errs, lat := p.total()
	pr := PhaseReport{Target: name, Phase: phase, Requests: n, Errors: errs, Dropped: p.dropped, Offered: p.offered,
		Rate: float64(n) / p.elapsed.Seconds(), P50: ms(pct(lat, .5)), P99: ms(pct(lat, .99)), ServerCPU: -1, Ops: map[string]OpReport{}}
	if n > 0 {
		if p.serverCPU >= 0 {
			pr.ServerCPU = float64(p.serverCPU.Microseconds()) / float64(n)
		}
		pr.ClientCPU = float64(p.clientCPU.Microseconds()) / float64(n)
	}
	for op, s := range p.ops {
		slices.Sort(s.lat)
		pr.Ops[op] = OpReport{Count: len(s.lat), Errors: s.errors, P50: ms(pct(s.lat, .5)), P99: ms(pct(s.lat, .99)), FirstErr: s.firstErr}
	}
	return pr
}

// Run seeds or opens the store, starts the servers, measures and returns
// the report. It fails only when the measurement cannot be made; failed
// requests are counted in the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.defaults()
	table, err := parseMix(cfg.Mix)
	if err != nil {
		return nil, err
	}
	if cfg.Executable == "" {
		if cfg.Executable, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	work, err := os.MkdirTemp("", "crm-loadbench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	store := config.CRMStore{DataDir: cfg.Dir, DatabaseURL: config.Secret(cfg.DatabaseURL)}
	storeEnv := []string{"CRM_MCP_DATA_DIR=" + cfg.Dir}
	if cfg.DatabaseURL != "" {
		storeEnv = []string{"CRM_MCP_DATABASE_URL=" + cfg.DatabaseURL}
	} else {
		if cfg.Dir == "" {
			cfg.Dir = filepath.Join(work, "data")
			store.DataDir, storeEnv = cfg.Dir, []string{"CRM_MCP_DATA_DIR=" + cfg.Dir}
		}
		if err := prepareSQLite(ctx, cfg.Dir, cfg.People, cfg.Progress); err != nil {
			return nil, fmt.Errorf("seed: %w", err)
		}
	}
	tenants, err := discover(ctx, store, cfg.UsersPerTenant)
	if err != nil {
		return nil, fmt.Errorf("discover: %w", err)
	}

	var children []*child
	defer func() {
		for _, c := range children {
			c.stop()
		}
	}()
	start := func(kind, addr string, env []string) (*child, error) {
		c, err := startChild(cfg, work, kind, append(env, envChild+"="+kind, envAddr+"="+addr))
		if err == nil {
			children = append(children, c)
		}
		return c, err
	}

	stack := &target{name: targetStack, pids: cfg.ServerPIDs}
	keys := cfg.TokenKeys
	base := strings.TrimSuffix(cfg.URL, "/")
	if base == "" {
		secret := make([]byte, 32)
		_, _ = rand.Read(secret)
		keys = "lb1:" + base64.RawURLEncoding.EncodeToString(secret)
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		base = "http://" + addr
		limits := make([]string, 0, len(config.DefaultRateLimits))
		for name := range config.DefaultRateLimits {
			limits = append(limits, name+"=1000000000/1m")
		}
		slices.Sort(limits)
		c, err := start(targetStack, addr, append(slices.Clone(storeEnv), "CRM_MCP_ADDR="+addr, "CRM_MCP_PUBLIC_URL="+base,
			"CRM_MCP_DEMO_USERS=false", "CRM_MCP_TOKEN_KEYS="+keys, "CRM_MCP_RATE_LIMITS="+strings.Join(limits, ",")))
		if err != nil {
			return nil, err
		}
		if err := c.waitHTTP(base + "/readyz"); err != nil {
			return nil, err
		}
		stack.pids = []int{c.cmd.Process.Pid}
	} else if keys == "" {
		return nil, errors.New("a target URL needs its CRM_MCP_TOKEN_KEYS (Config.TokenKeys) to mint access tokens")
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("target URL %q: %v", base, err)
	}
	stack.host = u.Host

	w, err := newWorkload(cfg, tenants, keys, base, table)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(cfg.Progress, "%d users in %d tenants, %d refresh chains; capturing responses...\n", len(w.users), len(tenants), cap(w.chains))
	caps, err := capture(stack, w)
	if err != nil {
		return nil, fmt.Errorf("first requests to the stack: %w", err)
	}
	raw, _ := json.Marshal(caps)
	capFile := filepath.Join(work, "captures.json")
	if err := os.WriteFile(capFile, raw, 0o600); err != nil {
		return nil, err
	}
	targets := []*target{stack}
	for _, kind := range []string{targetFloorSQL, targetFloorBytes} {
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		c, err := start(kind, addr, append(slices.Clone(storeEnv), envCaptures+"="+capFile))
		if err != nil {
			return nil, err
		}
		if err := c.waitTCP(addr); err != nil {
			return nil, err
		}
		targets = append(targets, &target{name: kind, host: addr, floor: true, pids: []int{c.cmd.Process.Pid}})
	}

	rep := &Report{People: cfg.People, Tenants: len(tenants), Users: len(w.users), Chains: cap(w.chains),
		Concurrency: cfg.Concurrency, Mix: cfg.Mix, Pinned: cfg.Pin, LoadAvgStart: loadAvg()}
	if cfg.DatabaseURL != "" || cfg.URL != "" {
		rep.People = 0 // not known
	}
	for r := range cfg.Runs {
		fmt.Fprintf(cfg.Progress, "run %d/%d (load average %s)\n", r+1, cfg.Runs, loadAvg())
		run := RunReport{Ratios: map[string]Ratio{}}
		maxes := map[string]PhaseReport{}
		for _, t := range targets {
			res, err := closedLoop(t, w, cfg.Concurrency, cfg.Warmup, cfg.Duration)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", t.name, err)
			}
			pr := toReport(t.name, "max", res)
			maxes[t.name] = pr
			run.Phases = append(run.Phases, pr)
			fmt.Fprintf(cfg.Progress, "  %-11s max  %8.0f req/s  server %6.0f µs/req  errors %d\n", t.name, pr.Rate, pr.ServerCPU, pr.Errors)
		}
		rate := cfg.Rate
		if rate == 0 {
			rate = maxes[targetStack].Rate / 2
		}
		if rate <= 0 {
			return nil, errors.New("the stack completed no request in the closed loop")
		}
		for _, t := range targets {
			res, err := openLoop(t, w, cfg.OpenConns, rate, cfg.Duration, cfg.Drain, uint64(1000*(r+1)))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", t.name, err)
			}
			pr := toReport(t.name, "open", res)
			run.Phases = append(run.Phases, pr)
			fmt.Fprintf(cfg.Progress, "  %-11s open %8.0f req/s  p50 %6.2f ms  p99 %7.2f ms  errors %d\n", t.name, pr.Rate, pr.P50, pr.P99, pr.Errors)
		}
		s := maxes[targetStack]
		for _, f := range []string{targetFloorSQL, targetFloorBytes} {
			fl := maxes[f]
			ratio := Ratio{Throughput: s.Rate / fl.Rate, CPU: -1}
			if s.ServerCPU > 0 && fl.ServerCPU > 0 {
				ratio.CPU = fl.ServerCPU / s.ServerCPU
			}
			run.Ratios[f] = ratio
		}
		rep.Runs = append(rep.Runs, run)
	}
	rep.LoadAvgEnd = loadAvg()
	return rep, nil
}

// newWorkload mints an access token per user (crm:read crm:write, one
// hour) with the server's key ring and runs the OAuth flows for the
// refresh chains when the mix refreshes.
func newWorkload(cfg Config, tenants []*tenantData, keys, base string, table []string) (*workload, error) {
	ring, err := token.ParseKeyRing(keys)
	if err != nil {
		return nil, fmt.Errorf("token keys: %w", err)
	}
	iss, err := token.NewAccessIssuer(ring, token.AccessOptions{Issuer: base, Audience: base + "/mcp"})
	if err != nil {
		return nil, err
	}
	w := &workload{table: table}
	// Users interleave tenants, so that any prefix spans them.
	for i := range cfg.UsersPerTenant {
		for _, td := range tenants {
			tok, _, err := iss.Mint(token.AccessClaims{Subject: td.users[i], TenantID: td.id,
				Scopes: []string{identity.ScopeRead, identity.ScopeWrite}, ClientID: "crm-mcp-bench"})
			if err != nil {
				return nil, err
			}
			w.users = append(w.users, &user{tenant: td, id: td.users[i], token: tok})
		}
	}
	n := 0
	if slices.Contains(table, opRefresh) {
		n = cfg.ChainsPerTenant * len(tenants)
	}
	w.chains = make(chan *chain, max(n, 1))
	for i := range n {
		td := tenants[i%len(tenants)]
		ch, err := oauthChain(base, td.login.Email, td.login.Password)
		if err != nil {
			return nil, fmt.Errorf("oauth flow as %s: %w", td.login.Email, err)
		}
		w.chains <- ch
	}
	return w, nil
}

// child is a server process.
type child struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

func startChild(cfg Config, work, kind string, env []string) (*child, error) {
	args := append([]string{cfg.Executable}, cfg.ChildArgs...)
	if cfg.Pin {
		args = append([]string{"taskset", "-c", "0"}, args...)
	}
	logPath := filepath.Join(work, kind+".log")
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("start %s: %w", kind, err)
	}
	c := &child{cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); lf.Close(); close(c.done) }()
	return c, nil
}

func (c *child) stop() {
	_ = c.cmd.Process.Signal(os.Interrupt)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

func (c *child) failed(err error) error {
	out, _ := os.ReadFile(c.log)
	if len(out) > 2000 {
		out = out[len(out)-2000:]
	}
	return fmt.Errorf("%w; its output:\n%s", err, out)
}

func (c *child) waitHTTP(u string) error {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case <-c.done:
			return c.failed(errors.New("server exited"))
		default:
		}
		if resp, err := http.Get(u); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return c.failed(fmt.Errorf("%s not ready in 2 minutes", u))
}

func (c *child) waitTCP(addr string) error {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		select {
		case <-c.done:
			return c.failed(errors.New("server exited"))
		default:
		}
		if nc, err := net.Dial("tcp", addr); err == nil {
			nc.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return c.failed(fmt.Errorf("%s not listening in a minute", addr))
}

// freeAddr reserves a loopback port for a server process until the
// bench exits: one outside the ephemeral range, which nothing else can
// take before the server binds it (see internal/portpick).
func freeAddr() (string, error) {
	p, err := portpick.Reserve()
	if err != nil {
		return "", err
	}
	return p.Addr(), nil
}

func loadAvg() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(raw))
	return strings.Join(f[:min(3, len(f))], " ")
}

// Main is "crm-mcp bench": flags, the pinned re-exec, the run and the
// printed report. It returns the exit code (1 if any request failed).
func Main(args []string, stdout, stderr io.Writer) int {
	MaybeChild()
	fs := flag.NewFlagSet("crm-mcp bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg Config
	fs.StringVar(&cfg.Dir, "dir", os.Getenv("CRM_BENCH_DB"), "directory of the seeded SQLite store, reused across runs (CRM_BENCH_DB; default: a temporary one)")
	fs.StringVar(&cfg.DatabaseURL, "database-url", "", "a seeded PostgreSQL CRM store instead of SQLite")
	fs.IntVar(&cfg.People, "people", 2000, "people per tenant when seeding (100000 takes ~6 min per tenant)")
	fs.StringVar(&cfg.URL, "url", "", "target a running server (e.g. the nginx of a scale-out) instead of starting serve")
	fs.StringVar(&cfg.TokenKeys, "token-keys", os.Getenv("CRM_MCP_TOKEN_KEYS"), "with -url: the target's access-token keys (CRM_MCP_TOKEN_KEYS)")
	pids := fs.String("server-pids", "", "with -url: comma-separated pids whose CPU is the server's")
	fs.IntVar(&cfg.Concurrency, "c", 16, "closed-loop connections (users round robin)")
	fs.IntVar(&cfg.OpenConns, "open-conns", 64, "open-loop connections")
	fs.DurationVar(&cfg.Duration, "d", 10*time.Second, "measured time of each phase")
	fs.DurationVar(&cfg.Warmup, "warmup", time.Second, "closed-loop warm-up")
	fs.Float64Var(&cfg.Rate, "rate", 0, "open-loop rate in req/s for every target (default: half the stack's closed-loop rate)")
	fs.IntVar(&cfg.Runs, "runs", 3, "repetitions, targets interleaved")
	fs.StringVar(&cfg.Mix, "mix", DefaultMix, "operation weights")
	fs.IntVar(&cfg.UsersPerTenant, "users", 7, "users per tenant (3 tenants)")
	fs.IntVar(&cfg.ChainsPerTenant, "chains", 2, "refresh-token chains per tenant (real OAuth flows)")
	pin := fs.String("pin", "auto", "servers on core 0, load generator on core 1: auto, on or off")
	jsonOut := fs.String("json", "", "also write the report as JSON to this file")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	for p := range strings.SplitSeq(*pids, ",") {
		if p = strings.TrimSpace(p); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil {
				fmt.Fprintln(stderr, "crm-mcp bench: -server-pids:", err)
				return 2
			}
			cfg.ServerPIDs = append(cfg.ServerPIDs, n)
		}
	}
	_, tsErr := exec.LookPath("taskset")
	switch *pin {
	case "on":
		cfg.Pin = true
	case "auto":
		cfg.Pin = tsErr == nil && runtime.NumCPU() >= 2 && cfg.URL == ""
	case "off":
	default:
		fmt.Fprintln(stderr, "crm-mcp bench: -pin: auto, on or off")
		return 2
	}
	if os.Getenv(envPinned) != "" {
		// The parent pinned this process to core 1 (so NumCPU is 1 here)
		// and decided: the servers go on core 0.
		cfg.Pin = true
	} else if cfg.Pin {
		exe, err := os.Executable()
		if err != nil {
			fmt.Fprintln(stderr, "crm-mcp bench:", err)
			return 1
		}
		cmd := exec.Command("taskset", append([]string{"-c", "1", exe, "bench"}, args...)...)
		cmd.Env = append(os.Environ(), envPinned+"=1")
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
		if err := cmd.Run(); err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				return ee.ExitCode()
			}
			fmt.Fprintln(stderr, "crm-mcp bench:", err)
			return 1
		}
		return 0
	}
	cfg.Progress = stderr
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		fmt.Fprintln(stderr, "crm-mcp bench:", err)
		return 1
	}
	rep.Print(stdout)
	if *jsonOut != "" {
		raw, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(*jsonOut, raw, 0o644); err != nil {
			fmt.Fprintln(stderr, "crm-mcp bench:", err)
			return 1
		}
	}
	if rep.Errors() > 0 {
		fmt.Fprintf(stderr, "crm-mcp bench: %d requests failed or were dropped\n", rep.Errors())
		return 1
	}
	return 0
}
