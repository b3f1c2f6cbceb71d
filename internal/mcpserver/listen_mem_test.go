package mcpserver_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/mcpserver"
	"github.com/crm-mcp/crm-mcp/internal/notify"
)

// memStreams is how many idle streams TestStreamMemory holds:
// CRM_MCP_SSE_MEM_STREAMS, default 300 (quick enough for every run).
func memStreams(t *testing.T) int {
	n := 300
	if v := os.Getenv("CRM_MCP_SSE_MEM_STREAMS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 || n > 50_000 {
			t.Fatalf("CRM_MCP_SSE_MEM_STREAMS=%q is not 1–50000", v)
		}
	}
	return n
}

// raiseNoFile lifts the soft file-descriptor limit to the hard one and
// returns the soft limit in force.
func raiseNoFile() uint64 {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) != nil {
		return 0
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
		_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	return lim.Cur
}

// TestStreamMemory measures what one idle notification stream costs the
// server: N real loopback GET /mcp streams (each has received its first
// event and then only waits), opened by a child process so that the
// clients' memory and descriptors are not counted. It reports the Go heap
// plus goroutine stacks and the RSS per stream, and fails above 16 KiB of
// heap and stacks per stream.
//
//	CRM_MCP_SSE_MEM_STREAMS=10000 go test -run TestStreamMemory -v ./internal/mcpserver
func TestStreamMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("opens hundreds of connections")
	}
	n := memStreams(t)
	if lim := raiseNoFile(); lim < uint64(n)+64 {
		t.Fatalf("file descriptor limit %d is too low for %d streams: raise ulimit -n or lower CRM_MCP_SSE_MEM_STREAMS", lim, n)
	}
	hub := notify.NewHub(notify.HubOptions{MaxPerUser: n, MaxStreams: n})
	srv, err := mcpserver.New(mcpserver.Options{
		Guard:   mcpserver.GuardOptions{AllowLoopback: true},
		Streams: &mcpserver.StreamOptions{Hub: hub, Heartbeat: time.Hour},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(authenticate(srv))
	defer ts.Close()
	defer func() { _ = hub.Shutdown(context.Background()) }()

	before := sample()
	child := exec.Command(os.Args[0], "-test.run=^TestStreamMemoryClient$", "-test.v")
	child.Env = append(os.Environ(), "CRM_MCP_SSE_MEM_CLIENT="+strings.TrimPrefix(ts.URL, "http://"), "CRM_MCP_SSE_MEM_STREAMS="+strconv.Itoa(n))
	stdin, _ := child.StdinPipe()
	stdout, _ := child.StdoutPipe()
	var stderr bytes.Buffer
	child.Stderr = &stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = child.Process.Kill(); _ = child.Wait() }()
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "ready") || strings.HasPrefix(sc.Text(), "error") {
				ready <- sc.Text()
			}
		}
		close(ready)
	}()
	select {
	case line := <-ready:
		if !strings.HasPrefix(line, "ready") {
			t.Fatalf("client: %q %s", line, stderr.String())
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("clients did not connect; stderr: %s", stderr.String())
	}
	if got := hub.Active(); got != n {
		t.Fatalf("hub holds %d streams, want %d", got, n)
	}
	after := sample()
	goStack := float64(after.heap+after.stack-before.heap-before.stack) / float64(n)
	rss := float64(after.rss-before.rss) / float64(n)
	t.Logf("%d idle streams: Go heap+stacks %.1f KiB/stream (heap %.1f, stacks %.1f), RSS %.1f KiB/stream, goroutines +%d",
		n, goStack/1024, float64(after.heap-before.heap)/float64(n)/1024, float64(after.stack-before.stack)/float64(n)/1024,
		rss/1024, after.goroutines-before.goroutines)
	if !raceEnabled && goStack > 16<<10 {
		t.Errorf("an idle stream costs %.1f KiB of heap and stacks, budget 16 KiB", goStack/1024)
	}
	_ = stdin.Close() // the child closes its connections and exits
	_ = child.Wait()
	waitFor(t, "every slot released", 30*time.Second, func() bool { return hub.Active() == 0 })
}

type memSample struct {
	heap, stack, rss uint64
	goroutines       int
}

func sample() memSample {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return memSample{heap: m.HeapInuse, stack: m.StackInuse, rss: rssBytes(), goroutines: runtime.NumGoroutine()}
}

// rssBytes is VmRSS from /proc (Linux); 0 elsewhere.
func rssBytes() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// TestStreamMemoryClient is TestStreamMemory's child process: it opens the
// streams over raw TCP, reports "ready", and holds them until stdin closes.
func TestStreamMemoryClient(t *testing.T) {
	addr := os.Getenv("CRM_MCP_SSE_MEM_CLIENT")
	if addr == "" {
		t.Skip("child process of TestStreamMemory")
	}
	n := memStreams(t)
	raiseNoFile()
	req := []byte("GET /mcp HTTP/1.1\r\nHost: " + addr + "\r\nAccept: text/event-stream\r\nMCP-Protocol-Version: 2025-11-25\r\nX-User: t/u/j\r\n\r\n")
	conns := make([]net.Conn, 0, n)
	buf := make([]byte, 4096)
	for i := range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			fmt.Printf("error dial %d: %v\n", i, err)
			return
		}
		conns = append(conns, c)
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write(req); err != nil {
			fmt.Printf("error write %d: %v\n", i, err)
			return
		}
		var got []byte
		for !bytes.Contains(got, []byte("list_changed")) {
			k, err := c.Read(buf)
			if err != nil {
				fmt.Printf("error read %d: %v (%q)\n", i, err, got)
				return
			}
			got = append(got, buf[:k]...)
		}
	}
	fmt.Printf("ready %d\n", n)
	_, _ = io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		_ = c.Close()
	}
}
