package mcpserver

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/notify"
	"github.com/crm-mcp/crm-mcp/internal/tenant"
)

// A stream held by a handler goroutine costs ~34 KiB (net/http's per-request
// buffers, two goroutines and their stacks). An HTTP/1.1 stream is instead
// detached: the connection is hijacked, the response head written by hand
// (close-delimited body), the handler returns, and the stream lives on as a
// net.Conn, two timers and one goroutine parked in a 1-byte Read (which
// notices at once when the client hangs up), a few KiB (see
// docs/performance.md "Notification streams"). HTTP/2 streams cannot be
// hijacked and keep the goroutine path (runStream).

// detached is one hijacked stream. Every write happens under mu, so frames
// never interleave; a stalled write holds mu at most WriteTimeout.
type detached struct {
	o    *streams
	conn net.Conn
	st   *notify.Stream
	p    tenant.Principal
	f    frames

	mu       sync.Mutex
	done     bool
	beat     *time.Timer
	expiry   *time.Timer
	flushing sync.Mutex // at most one flush goroutine at a time
}

// detach hijacks w's connection and hands the stream to timers. It reports
// false, having changed nothing, when the connection cannot be hijacked.
func (s *Server) detach(w http.ResponseWriter, r *http.Request, st *notify.Stream, p tenant.Principal, f frames) bool {
	if r.ProtoMajor != 1 {
		return false
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return false
	}
	d := &detached{o: s.streams, conn: conn, st: st, p: p, f: f}
	if brw.Reader.Buffered() > 0 {
		// A pipelined request behind the stream's: we would never answer it.
		d.end()
		return true
	}
	_ = conn.SetReadDeadline(time.Time{}) // clear the server's ReadTimeout
	head := responseHead(w.Header())
	if d.write(append(head, f.open(st.Kinds())...)) != nil {
		d.end()
		return true
	}
	d.mu.Lock()
	d.beat = time.AfterFunc(d.o.Heartbeat, d.heartbeat)
	if !p.ExpiresAt.IsZero() {
		d.expiry = time.AfterFunc(p.ExpiresAt.Sub(d.o.Now()), d.end)
	}
	d.mu.Unlock()
	go d.watch()
	st.SetHooks(notify.Hooks{
		Wake:    func() { go d.flush() },
		Closing: func() { go d.shutdown() },
	})
	return true
}

// responseHead is the HTTP/1.1 response head of a hijacked stream,
// carrying the headers set so far (request id, CORS) and the SSE ones. The
// body ends when the connection closes.
func responseHead(h http.Header) []byte {
	var b bytes.Buffer
	b.WriteString("HTTP/1.1 200 OK\r\n")
	h = h.Clone()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Connection", "close")
	h.Del("Content-Length")
	h.Del("Transfer-Encoding")
	_ = h.Write(&b)
	b.WriteString("\r\n")
	return b.Bytes()
}

// watch ends the stream when the client hangs up. A client sends nothing
// on a stream, so any byte (a pipelined request) ends it too.
func (d *detached) watch() {
	var b [1]byte
	_, _ = d.conn.Read(b[:])
	d.end()
}

// write sends b under a per-write deadline.
func (d *detached) write(b []byte) error {
	if err := d.conn.SetWriteDeadline(time.Now().Add(d.o.WriteTimeout)); err != nil {
		return err
	}
	_, err := d.conn.Write(b)
	return err
}

// locked runs fn with mu held unless the stream has ended; an error from
// fn ends it.
func (d *detached) locked(fn func() error) {
	d.mu.Lock()
	if d.done {
		d.mu.Unlock()
		return
	}
	err := fn()
	d.mu.Unlock()
	if err != nil {
		d.end()
	}
}

func (d *detached) heartbeat() {
	if d.o.Revocations != nil {
		ctx, cancel := context.WithTimeout(context.Background(), d.o.WriteTimeout)
		revoked, err := d.o.Revocations.AccessRevoked(ctx, d.p.TokenID, d.p.FamilyID)
		cancel()
		if revoked || err != nil {
			d.end() // fail closed, like bearer.Middleware
			return
		}
	}
	d.locked(func() error {
		if err := d.write(heartbeatFrame); err != nil {
			return err
		}
		d.beat.Reset(d.o.Heartbeat)
		return nil
	})
}

func (d *detached) flush() {
	if !d.flushing.TryLock() {
		return // the running flush takes what is pending after we set it
	}
	defer d.flushing.Unlock()
	for {
		k := d.st.Take() & d.st.Kinds()
		if k == 0 {
			return
		}
		d.locked(func() error { return d.write(d.f.notify(k)) })
	}
}

// shutdown tells the client when to reconnect (with jitter, so a fleet of
// clients does not return at once) and ends the stream.
func (d *detached) shutdown() {
	retry := d.o.Retry + rand.N(d.o.Retry+1)
	d.locked(func() error {
		_ = d.write(append([]byte("retry: "+strconv.FormatInt(retry.Milliseconds(), 10)+"\n\n"), d.f.end()...))
		return errEnd
	})
}

// end closes the connection and releases the slot; it is idempotent.
func (d *detached) end() {
	d.mu.Lock()
	if d.done {
		d.mu.Unlock()
		return
	}
	d.done = true
	if d.beat != nil {
		d.beat.Stop()
	}
	if d.expiry != nil {
		d.expiry.Stop()
	}
	d.mu.Unlock()
	_ = d.conn.Close()
	d.st.Close()
}

type endError struct{}

func (endError) Error() string { return "stream ended" }

var errEnd error = endError{}
