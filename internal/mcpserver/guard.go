package mcpserver

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// GuardOptions configures the transport checks in front of go-sdk.
type GuardOptions struct {
	// AllowedOrigins lists the exact browser origins (scheme://host[:port])
	// that may call /mcp. A request without an Origin header (every
	// non-browser client) is not affected. The public URL's origin belongs
	// here.
	AllowedOrigins []string

	// AllowedHosts lists the Host header values (host or host:port) the server
	// answers to. A host without a port matches any port. Anything else is
	// refused, which defeats DNS rebinding: a rebound name arrives with the
	// attacker's Host. If empty, every Host is accepted unless AllowLoopback
	// restricts it.
	AllowedHosts []string

	// AllowLoopback allows loopback Origins and Hosts (localhost, 127.0.0.0/8,
	// ::1, any port), for a server bound to a loopback address, so that local
	// tools such as MCP Inspector work out of the box.
	AllowLoopback bool

	// MaxBodyBytes limits the request body. If zero, defaults to
	// [DefaultMaxBodyBytes].
	MaxBodyBytes int64
}

type guard struct {
	origins       map[string]bool
	hosts         map[string]bool // exact host:port or bare host, lower case
	anyHost       bool
	allowLoopback bool
	maxBody       int64
}

// rejection is a guard failure, written by ServeHTTP as a JSON-RPC error.
type rejection struct {
	status int
	code   int
	msg    string
	data   any
}

func newGuard(o GuardOptions) (guard, error) {
	g := guard{
		origins:       make(map[string]bool),
		hosts:         make(map[string]bool),
		allowLoopback: o.AllowLoopback,
		maxBody:       o.MaxBodyBytes,
	}
	if g.maxBody == 0 {
		g.maxBody = DefaultMaxBodyBytes
	}
	if g.maxBody < 0 {
		return guard{}, errors.New("max body bytes must not be negative")
	}
	var errs []error
	for _, o := range o.AllowedOrigins {
		norm, err := NormalizeOrigin(o)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		g.origins[norm] = true
	}
	for _, h := range o.AllowedHosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" || strings.ContainsAny(h, "/ ") {
			errs = append(errs, fmt.Errorf("invalid allowed host %q", h))
			continue
		}
		g.hosts[h] = true
	}
	g.anyHost = len(g.hosts) == 0 && !g.allowLoopback
	return g, errors.Join(errs...)
}

// NormalizeOrigin returns the canonical scheme://host[:port] form of an origin
// (lower case, default ports dropped), as browsers send it.
func NormalizeOrigin(origin string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(origin))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("invalid origin %q: want scheme://host[:port]", origin)
	}
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return u.Scheme + "://" + host, nil
}

// check applies the header checks that need no body: Host and Origin.
func (g *guard) check(r *http.Request) *rejection {
	if !g.hostAllowed(r.Host) {
		return &rejection{status: http.StatusForbidden, code: -32600, msg: "forbidden: unknown Host"}
	}
	// MCP transports 2025-11-25 §Security Warning: servers MUST validate a
	// present Origin and answer 403 when it is not allowed.
	if origins := r.Header.Values("Origin"); len(origins) > 0 {
		if len(origins) > 1 || !g.originAllowed(origins[0]) {
			return &rejection{status: http.StatusForbidden, code: -32600, msg: "forbidden: origin not allowed"}
		}
	}
	return nil
}

// checkVersion rejects an MCP-Protocol-Version header naming a revision we do
// not serve. It runs after the body is read so that the error can carry the
// request's id (SEP-2575: every error response echoes the request id).
func (g *guard) checkVersion(r *http.Request) *rejection {
	if v := r.Header.Values("Mcp-Protocol-Version"); len(v) > 0 {
		if len(v) > 1 || !slices.Contains(ProtocolVersions, v[0]) {
			requested := strings.Join(v, ",")
			if len(requested) > 64 {
				requested = requested[:64]
			}
			return &rejection{
				status: http.StatusBadRequest,
				code:   mcp.CodeUnsupportedProtocolVersion,
				msg:    "unsupported MCP-Protocol-Version",
				data:   mcp.UnsupportedProtocolVersionData{Supported: ProtocolVersions, Requested: requested},
			}
		}
	}
	return nil
}

func (g *guard) hostAllowed(hostport string) bool {
	if g.anyHost {
		return true
	}
	hostport = strings.ToLower(hostport)
	if g.hosts[hostport] {
		return true
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if g.hosts[host] {
		return true
	}
	return g.allowLoopback && isLoopbackHost(host)
}

func (g *guard) originAllowed(origin string) bool {
	norm, err := NormalizeOrigin(origin)
	if err != nil {
		return false // "null", opaque and malformed origins are foreign
	}
	if g.origins[norm] {
		return true
	}
	if !g.allowLoopback {
		return false
	}
	u, err := url.Parse(norm)
	return err == nil && isLoopbackHost(u.Hostname())
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// readBody reads the whole body within the limit. A declared Content-Length
// over the limit is refused before reading; a chunked body is cut off at
// the limit.
func (g *guard) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *rejection) {
	tooLarge := &rejection{
		status: http.StatusRequestEntityTooLarge,
		code:   -32600,
		msg:    fmt.Sprintf("request body exceeds %d bytes", g.maxBody),
	}
	if r.ContentLength > g.maxBody {
		return nil, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, g.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge
		}
		return nil, &rejection{status: http.StatusBadRequest, code: -32700, msg: "could not read request body"}
	}
	if len(body) == 0 {
		return nil, &rejection{status: http.StatusBadRequest, code: -32700, msg: "empty request body"}
	}
	return body, nil
}

// accepts reports whether an Accept header admits JSON and SSE responses.
func accepts(values []string) (jsonOK, streamOK bool) {
	for _, value := range values {
		for raw := range strings.SplitSeq(value, ",") {
			base, _, _ := strings.Cut(strings.TrimSpace(raw), ";")
			switch strings.ToLower(strings.TrimSpace(base)) {
			case "application/json", "application/*":
				jsonOK = true
			case "text/event-stream", "text/*":
				streamOK = true
			case "*/*":
				jsonOK, streamOK = true, true
			}
		}
	}
	return jsonOK, streamOK
}

// OriginAllowed reports whether a browser at origin may call /mcp, for the
// CORS layer in front of the endpoint.
func (s *Server) OriginAllowed(origin string) bool { return s.guard.originAllowed(origin) }
