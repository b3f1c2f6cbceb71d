package cimd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Resolver looks up the addresses of a host name. *net.Resolver satisfies
// it. Implementations must be safe for concurrent use.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

var _ Resolver = (*net.Resolver)(nil)

// Defaults for Options.
const (
	DefaultMaxBytes        = 5 << 10 // 5 KiB
	DefaultTimeout         = 5 * time.Second
	DefaultMaxCacheTTL     = 24 * time.Hour
	DefaultMinCacheTTL     = 5 * time.Minute
	DefaultDefaultCacheTTL = time.Hour
	DefaultFailureTTL      = time.Minute
	DefaultMaxEntries      = 10_000
	DefaultMaxInFlight     = 64
)

// maxHeaderBytes bounds response headers.
const maxHeaderBytes = 16 << 10

// Options configures a Fetcher. The zero value is the production
// configuration. Negative numbers are rejected by New.
type Options struct {
	// Client supplies TLS settings (for example RootCAs in tests) and
	// nothing else that could weaken the fetch: New copies it and its
	// *http.Transport, then forces the vetted dialer, no proxy, no
	// redirects, no cookie jar, no compression, no keep-alives, TLS 1.2+
	// with certificate verification against the client_id host name.
	// Client certificates and key logging in its TLS config are dropped.
	// Its Transport must be nil or an *http.Transport.
	// If nil, a fresh client with system roots is used.
	Client *http.Client
	// Resolver resolves client_id hosts. If nil, net.DefaultResolver.
	Resolver Resolver
	// AllowAddrs lists prefixes that may be connected to even though they
	// are not public unicast, e.g. 127.0.0.0/8 for httptest servers.
	// TESTS ONLY: in production it must be empty, or the fetcher becomes
	// an SSRF primitive into those ranges.
	AllowAddrs []netip.Prefix
	// AllowHTTP makes the fetcher request "http://" + the rest of the
	// https client_id, so a plain httptest.Server can stand in. The
	// client_id itself must still be https. TESTS ONLY: NEVER SET THIS IN
	// PRODUCTION — it drops TLS, so anyone on the path can forge any
	// client's metadata, including its redirect URIs.
	AllowHTTP bool
	// MaxBytes caps the document body. If zero, DefaultMaxBytes (5 KiB).
	MaxBytes int64
	// Timeout bounds one fetch from DNS lookup to the last body byte. If
	// zero, DefaultTimeout (5 s).
	Timeout time.Duration
	// MaxCacheTTL caps how long a document is cached whatever its
	// Cache-Control says. If zero, DefaultMaxCacheTTL (24 h).
	MaxCacheTTL time.Duration
	// MinCacheTTL is the floor for a Cache-Control max-age, so a document
	// saying max-age=0 cannot make us refetch on every /authorize. It does
	// not apply to no-store or no-cache, which are honoured (the document
	// is returned but not cached). If zero, DefaultMinCacheTTL (5 min).
	MinCacheTTL time.Duration
	// DefaultCacheTTL applies to documents without a usable max-age or
	// no-store/no-cache directive. It is clamped to
	// [MinCacheTTL, MaxCacheTTL]. If zero, DefaultDefaultCacheTTL (1 h).
	DefaultCacheTTL time.Duration
	// FailureTTL is how long a failed fetch (network, status, SSRF
	// refusal, invalid document) is remembered and returned without a new
	// request. If zero, DefaultFailureTTL (1 min).
	FailureTTL time.Duration
	// MaxEntries bounds the cache (successes and failures); the least
	// recently used entry is evicted. If zero, DefaultMaxEntries (10 000).
	MaxEntries int
	// MaxInFlight bounds concurrent outbound fetches (of distinct URLs);
	// a Fetch beyond it fails fast with ErrFetch and is not cached. If
	// zero, DefaultMaxInFlight (64).
	MaxInFlight int
	// Now returns the current time for cache expiry. If nil, time.Now.
	// Network timeouts always use real time.
	Now func() time.Time
}

// Fetcher fetches, validates and caches client ID metadata documents. It
// is safe for concurrent use.
type Fetcher struct {
	client     *http.Client
	resolver   Resolver
	allow      []netip.Prefix
	allowHTTP  bool
	maxBytes   int64
	timeout    time.Duration
	maxTTL     time.Duration
	minTTL     time.Duration
	defaultTTL time.Duration
	failureTTL time.Duration
	now        func() time.Time
	slots      chan struct{}

	// dialHook, if set (tests), is called before every connection
	// attempt with the ip:port being dialed.
	dialHook func(addr string)

	mu    sync.Mutex
	cache *lru
	calls map[string]*call
}

// call is one in-flight fetch that concurrent callers share.
type call struct {
	done chan struct{}
	doc  Document
	err  error
}

// New returns a Fetcher configured by opts.
func New(opts Options) (*Fetcher, error) {
	var errs []error
	nonNeg := func(name string, v int64) {
		if v < 0 {
			errs = append(errs, fmt.Errorf("%s is negative", name))
		}
	}
	nonNeg("MaxBytes", opts.MaxBytes)
	nonNeg("Timeout", int64(opts.Timeout))
	nonNeg("MaxCacheTTL", int64(opts.MaxCacheTTL))
	nonNeg("MinCacheTTL", int64(opts.MinCacheTTL))
	nonNeg("DefaultCacheTTL", int64(opts.DefaultCacheTTL))
	nonNeg("FailureTTL", int64(opts.FailureTTL))
	nonNeg("MaxEntries", int64(opts.MaxEntries))
	nonNeg("MaxInFlight", int64(opts.MaxInFlight))
	for _, p := range opts.AllowAddrs {
		if !p.IsValid() {
			errs = append(errs, errors.New("AllowAddrs holds an invalid prefix"))
		}
	}
	f := &Fetcher{
		resolver:   opts.Resolver,
		allow:      append([]netip.Prefix(nil), opts.AllowAddrs...),
		allowHTTP:  opts.AllowHTTP,
		maxBytes:   or(opts.MaxBytes, DefaultMaxBytes),
		timeout:    or(opts.Timeout, DefaultTimeout),
		maxTTL:     or(opts.MaxCacheTTL, DefaultMaxCacheTTL),
		minTTL:     or(opts.MinCacheTTL, DefaultMinCacheTTL),
		defaultTTL: or(opts.DefaultCacheTTL, DefaultDefaultCacheTTL),
		failureTTL: or(opts.FailureTTL, DefaultFailureTTL),
		now:        opts.Now,
		calls:      make(map[string]*call),
	}
	if f.minTTL > f.maxTTL {
		errs = append(errs, errors.New("MinCacheTTL exceeds MaxCacheTTL"))
	}
	f.defaultTTL = min(max(f.defaultTTL, f.minTTL), f.maxTTL)
	if f.resolver == nil {
		f.resolver = net.DefaultResolver
	}
	if f.now == nil {
		f.now = time.Now
	}
	f.cache = newLRU(or(opts.MaxEntries, DefaultMaxEntries))
	f.slots = make(chan struct{}, or(opts.MaxInFlight, DefaultMaxInFlight))
	client, err := f.newClient(opts.Client)
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("configure cimd fetcher: %w", err)
	}
	f.client = client
	return f, nil
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// newClient builds the locked-down HTTP client. See Options.Client.
func (f *Fetcher) newClient(base *http.Client) (*http.Client, error) {
	var tlsConf *tls.Config
	if base != nil {
		switch bt := base.Transport.(type) {
		case nil:
		case *http.Transport:
			if bt.TLSClientConfig != nil {
				tlsConf = bt.TLSClientConfig.Clone()
			}
		default:
			return nil, fmt.Errorf("Options.Client.Transport is %T, want *http.Transport", base.Transport)
		}
	}
	if tlsConf == nil {
		tlsConf = &tls.Config{}
	}
	// Verify the certificate against the client_id host name (the
	// transport fills ServerName from the URL), never skip verification.
	tlsConf.ServerName = ""
	tlsConf.InsecureSkipVerify = false
	tlsConf.VerifyConnection = nil
	// Never present our client certificates to a client's host, and never
	// log session keys.
	tlsConf.Certificates = nil
	tlsConf.GetClientCertificate = nil
	tlsConf.KeyLogWriter = nil
	if tlsConf.MinVersion < tls.VersionTLS12 {
		tlsConf.MinVersion = tls.VersionTLS12
	}
	dialer := &net.Dialer{Timeout: f.timeout, Control: f.control}
	t := &http.Transport{
		Proxy:                  nil, // never HTTP(S)_PROXY from the environment
		DialContext:            f.dialContext(dialer),
		TLSClientConfig:        tlsConf,
		TLSHandshakeTimeout:    f.timeout,
		ResponseHeaderTimeout:  f.timeout,
		DisableKeepAlives:      true, // every fetch dials its own vetted address
		DisableCompression:     true, // the size cap applies to wire bytes
		MaxResponseHeaderBytes: maxHeaderBytes,
	}
	return &http.Client{
		Transport: t,
		// Redirects are not followed: a 3xx is an error (the draft forbids
		// following them for the document, and each hop would need SSRF
		// vetting anyway).
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       f.timeout,
	}, nil
}

// target is the vetted destination of one fetch, carried to the dialer in
// the request context.
type target struct {
	host, port string
	addrs      []netip.Addr
}

type targetKey struct{}

// dialContext connects only to the addresses vetted for this request,
// never resolving the host again, so DNS rebinding between the check and
// the connection has nothing to act on.
func (f *Fetcher) dialContext(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		t, ok := ctx.Value(targetKey{}).(*target)
		if !ok {
			return nil, fmt.Errorf("%w: dial without a vetted target", ErrForbiddenAddress)
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil || host != t.host || port != t.port {
			return nil, fmt.Errorf("%w: dial target differs from the vetted host", ErrForbiddenAddress)
		}
		pn, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("%w: bad port", ErrForbiddenAddress)
		}
		var errs []error
		for _, a := range t.addrs {
			ap := netip.AddrPortFrom(a.Unmap(), uint16(pn)).String()
			if f.dialHook != nil {
				f.dialHook(ap)
			}
			c, err := d.DialContext(ctx, "tcp", ap)
			if err == nil {
				return c, nil
			}
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
		}
		return nil, errors.Join(errs...)
	}
}

// control re-checks the socket's destination just before connect, in case
// any path reaches the dialer with an address that was not vetted.
func (f *Fetcher) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil || !permitted(ap.Addr(), f.allow) {
		return fmt.Errorf("%w: refusing to connect", ErrForbiddenAddress)
	}
	return nil
}

// maxTries bounds how many vetted addresses one fetch dials.
const maxTries = 4

// Fetch returns the validated metadata document for the URL client id
// clientID, from the cache when it holds a live entry (failures included).
//
// The document must be served with status 200 and a JSON media type
// (application/json or application/*+json), within Options.MaxBytes and
// Options.Timeout, from a host whose every address is public. It is
// decoded strictly and must satisfy: client_id equals clientID exactly;
// no client_secret or client_secret_expires_at; redirect_uris has 1 to
// MaxRedirectURIs entries, each https or loopback http, without userinfo,
// fragment, wildcard or dot segment, at most MaxURLLength bytes;
// token_endpoint_auth_method absent or "none"; grant_types within
// {authorization_code, refresh_token} and containing authorization_code;
// response_types ["code"]; client_uri and logo_uri https; client_name,
// after removing control, bidi and zero-width characters, at most
// MaxClientNameRunes runes.
//
// Errors wrap ErrInvalidClientID, ErrForbiddenAddress, ErrFetch or
// ErrInvalidDocument. If ctx ends first, Fetch returns an error wrapping
// ErrFetch and ctx's cause, while the shared fetch continues for other
// callers and the cache.
func (f *Fetcher) Fetch(ctx context.Context, clientID string) (Document, error) {
	if !IsURLClientID(clientID) {
		return Document{}, ErrInvalidClientID
	}
	f.mu.Lock()
	if e, ok := f.cache.get(clientID, f.now()); ok {
		f.mu.Unlock()
		return e.doc.clone(), e.err
	}
	c, ok := f.calls[clientID]
	if !ok {
		select {
		case f.slots <- struct{}{}:
		default:
			f.mu.Unlock()
			return Document{}, fmt.Errorf("%w: too many fetches in flight", ErrFetch)
		}
		c = &call{done: make(chan struct{})}
		f.calls[clientID] = c
		// Detached from the caller's cancellation: other callers may be
		// waiting, and the result is cached. Bounded by f.timeout.
		go f.run(context.WithoutCancel(ctx), clientID, c)
	}
	f.mu.Unlock()
	select {
	case <-c.done:
		return c.doc.clone(), c.err
	case <-ctx.Done():
		return Document{}, fmt.Errorf("%w: %w", ErrFetch, context.Cause(ctx))
	}
}

func (f *Fetcher) run(ctx context.Context, clientID string, c *call) {
	defer func() { <-f.slots }()
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	doc, ttl, err := f.fetch(ctx, clientID)
	cancel()
	if err != nil {
		ttl = f.failureTTL
		doc = Document{}
	}
	c.doc, c.err = doc, err
	f.mu.Lock()
	if ttl > 0 {
		f.cache.put(clientID, doc, err, f.now().Add(ttl))
	}
	delete(f.calls, clientID)
	f.mu.Unlock()
	close(c.done)
}

// fetch performs one uncached fetch and returns the document and how long
// it may be cached.
func (f *Fetcher) fetch(ctx context.Context, clientID string) (Document, time.Duration, error) {
	authority, path, _ := splitClientID(clientID)
	host, port, hasPort := strings.Cut(authority, ":")
	scheme := "https"
	if f.allowHTTP {
		scheme = "http"
	}
	if !hasPort {
		port = map[string]string{"https": "443", "http": "80"}[scheme]
	}

	addrs, err := f.resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return Document{}, 0, fmt.Errorf("%w: resolve host: %w", ErrFetch, err)
	}
	if len(addrs) == 0 {
		return Document{}, 0, fmt.Errorf("%w: resolve host: no addresses", ErrFetch)
	}
	// Refuse if ANY address is forbidden: a mixed answer is the classic
	// way to get a private address dialed on fallback.
	for _, a := range addrs {
		if !permitted(a, f.allow) {
			return Document{}, 0, fmt.Errorf("%w: host resolves to a non-public address", ErrForbiddenAddress)
		}
	}
	if len(addrs) > maxTries {
		addrs = addrs[:maxTries]
	}
	t := &target{host: host, port: port, addrs: addrs}

	req, err := http.NewRequestWithContext(context.WithValue(ctx, targetKey{}, t),
		http.MethodGet, scheme+"://"+authority+path, nil)
	if err != nil {
		return Document{}, 0, fmt.Errorf("%w: build request: %w", ErrFetch, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "crm-mcp-cimd/1")
	resp, err := f.client.Do(req)
	if err != nil {
		if errors.Is(err, ErrForbiddenAddress) {
			return Document{}, 0, fmt.Errorf("%w: dial refused", ErrForbiddenAddress)
		}
		return Document{}, 0, fmt.Errorf("%w: get document: %w", ErrFetch, err)
	}
	defer resp.Body.Close()

	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return Document{}, 0, fmt.Errorf("%w: status %d (redirects are not followed)", ErrFetch, resp.StatusCode)
	}
	if resp.StatusCode != http.StatusOK {
		return Document{}, 0, fmt.Errorf("%w: status %d", ErrFetch, resp.StatusCode)
	}
	if !isJSONMediaType(resp.Header.Get("Content-Type")) {
		return Document{}, 0, fmt.Errorf("%w: content type is not JSON", ErrFetch)
	}
	if resp.ContentLength > f.maxBytes {
		return Document{}, 0, fmt.Errorf("%w: document exceeds %d bytes", ErrFetch, f.maxBytes)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.maxBytes+1))
	if err != nil {
		return Document{}, 0, fmt.Errorf("%w: read document: %w", ErrFetch, err)
	}
	if int64(len(body)) > f.maxBytes {
		return Document{}, 0, fmt.Errorf("%w: document exceeds %d bytes", ErrFetch, f.maxBytes)
	}
	doc, err := parseDocument(clientID, body)
	if err != nil {
		return Document{}, 0, err
	}
	return doc, f.cacheTTL(resp.Header.Values("Cache-Control")), nil
}

// isJSONMediaType accepts application/json and application/*+json (the
// CIMD draft allows a more specific JSON type).
func isJSONMediaType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")
}

// cacheTTL derives the cache lifetime of a document from its
// Cache-Control (RFC 9111 §5.2.2): no-store or no-cache → 0 (not cached);
// max-age=N → N clamped to [minTTL, maxTTL]; otherwise defaultTTL.
// Expires and Age are ignored.
func (f *Fetcher) cacheTTL(values []string) time.Duration {
	maxAge := int64(-1)
	for _, v := range values {
		for d := range strings.SplitSeq(v, ",") {
			name, arg, _ := strings.Cut(strings.TrimSpace(d), "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "no-store", "no-cache":
				return 0
			case "max-age":
				n, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(arg), `"`), 10, 64)
				if err == nil && n >= 0 && maxAge < 0 {
					maxAge = n
				}
			}
		}
	}
	if maxAge < 0 {
		return f.defaultTTL
	}
	ttl := f.maxTTL
	if maxAge < int64(f.maxTTL/time.Second) {
		ttl = time.Duration(maxAge) * time.Second
	}
	return min(max(ttl, f.minTTL), f.maxTTL)
}
