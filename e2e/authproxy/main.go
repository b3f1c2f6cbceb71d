// Command authproxy is a test-only loopback reverse proxy that adds
// "Authorization: Bearer TOKEN" to every request it forwards. It lets a
// client that knows nothing of OAuth (the MCP conformance suite) run
// against a server that requires access tokens (fixtureserver -auth), so
// the suite exercises the transport behind the product's auth stack.
//
//	authproxy -target http://127.0.0.1:PORT -token-file FILE
//
// prints
//
//	listening on http://127.0.0.1:PORT
//
// as its first line on stdout once it accepts connections. It forwards the
// request path and query unchanged, replaces any Authorization header, and
// otherwise forwards the request as it came: in particular the original Host
// and Origin headers (the suite's DNS-rebinding checks send foreign ones,
// which must reach the server's guard, not be rewritten to the target's) and
// no X-Forwarded-* headers. Request bodies (at most 8 MiB) are read whole
// before they are forwarded (see bufferBody); responses are streamed without
// buffering, so text/event-stream responses reach the client event by event.
//
// Both the listen address and the target must be loopback addresses.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "loopback `host:port` to listen on (port 0 picks a free port)")
	target := flag.String("target", "", "loopback origin to forward to, e.g. http://127.0.0.1:8080 (required)")
	tokenFile := flag.String("token-file", "", "`file` holding the bearer token to add (else $AUTHPROXY_TOKEN)")
	verbose := flag.Bool("v", false, "log every request (method, path, status, bytes, duration) to stderr")
	flag.Parse()
	if err := run(*listen, *target, *tokenFile, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "authproxy:", err)
		os.Exit(1)
	}
}

func run(listen, target, tokenFile string, verbose bool) error {
	u, err := parseTarget(target)
	if err != nil {
		return err
	}
	tok := os.Getenv("AUTHPROXY_TOKEN")
	if tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return err
		}
		tok = strings.TrimSpace(string(b))
	}
	if tok == "" || strings.ContainsAny(tok, " \t\r\n") {
		return errors.New("no usable token: name a -token-file or set AUTHPROXY_TOKEN")
	}
	if err := requireLoopbackAddr(listen); err != nil {
		return fmt.Errorf("-listen: %w", err)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	logger := log.New(os.Stderr, "authproxy: ", log.Lmicroseconds)
	h := handler(u, tok, logger)
	if verbose {
		h = logRequests(h, logger)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		// No write timeout: event streams stay open as long as the server
		// keeps them open.
	}
	fmt.Printf("listening on http://%s\n", ln.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// handler is the proxy: request bodies buffered, then forwarded.
func handler(target *url.URL, tok string, logger *log.Logger) http.Handler {
	return bufferBody(newProxy(target, tok, logger))
}

// newProxy forwards to target, adding the bearer token.
func newProxy(target *url.URL, tok string, logger *log.Logger) *httputil.ReverseProxy {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.Proxy = nil // never an environment proxy: loopback only
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			// SetURL points Host at the target; keep the client's, so
			// the server's Host (DNS rebinding) guard judges what the
			// client sent. Origin is left as it came. Rewrite (unlike
			// Director) adds no X-Forwarded-* headers.
			pr.Out.Host = pr.In.Host
			pr.Out.Header.Set("Authorization", "Bearer "+tok)
		},
		// Flush every write at once: event streams must not be buffered.
		FlushInterval: -1,
		Transport:     transport,
		ErrorLog:      logger,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if !errors.Is(err, context.Canceled) {
				logger.Printf("%s %s: %v", r.Method, r.URL.Path, err)
			}
			w.WriteHeader(http.StatusBadGateway)
		},
	}
}

// maxBodyBytes bounds a buffered request body; MCP requests are a few KiB
// (the server's own default limit is 1 MiB).
const maxBodyBytes = 8 << 20

// bufferBody reads the whole request body before next forwards it.
//
// Streaming the inbound body straight into the outbound request races on
// HTTP/1.1: the server may answer as soon as it has Content-Length bytes,
// the proxy then writes the response header, and Go's HTTP/1 server closes
// the inbound body at that point (it is half-duplex), while the Transport
// is still making its final read of it to check for EOF. That read fails
// ("http: invalid Read on closed Body"), the Transport closes the upstream
// connection mid-response, and the client sees a truncated or reset
// response. Observed under load in about one conformance run in three.
// Buffering also gives the outbound request GetBody, so the Transport can
// retry it on a stale keep-alive connection.
func bufferBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
			if err != nil {
				var tooBig *http.MaxBytesError
				if errors.As(err, &tooBig) {
					w.WriteHeader(http.StatusRequestEntityTooLarge)
				} else {
					w.WriteHeader(http.StatusBadRequest)
				}
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(b))
			r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
			r.ContentLength = int64(len(b))
			r.TransferEncoding = nil
		}
		next.ServeHTTP(w, r)
	})
}

// parseTarget accepts only an http origin on a loopback address.
func parseTarget(s string) (*url.URL, error) {
	if s == "" {
		return nil, errors.New("-target is required")
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("-target: %w", err)
	}
	if u.Scheme != "http" || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("-target %q: want an origin like http://127.0.0.1:PORT", s)
	}
	if err := requireLoopbackHost(u.Hostname()); err != nil {
		return nil, fmt.Errorf("-target: %w", err)
	}
	u.Path = ""
	return u, nil
}

func requireLoopbackAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	return requireLoopbackHost(host)
}

func requireLoopbackHost(host string) error {
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q is not a loopback address", host)
	}
	return nil
}

// logRequests logs each request once it is answered.
func logRequests(next http.Handler, logger *log.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		defer func() {
			logger.Printf("%s %s %s -> %d %dB in %v (ctx: %v)", r.RemoteAddr, r.Method, r.URL.Path, rec.status, rec.bytes, time.Since(start).Round(time.Millisecond), r.Context().Err())
		}()
		next.ServeHTTP(rec, r)
	})
}

// recorder notes the status and size of a response. It passes flushes
// through (Unwrap, for http.ResponseController), so streams stay unbuffered.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
