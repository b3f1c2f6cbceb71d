// Package clientip finds the address of the client behind a request: the
// socket peer, or, when the peer is a configured trusted proxy, the
// right-most address in the forwarding header that is not a trusted proxy.
// Headers from anyone else are ignored, so a client cannot choose its own
// rate-limit key by sending X-Forwarded-For.
package clientip

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Header names the forwarding header trusted proxies write.
type Header string

// The supported headers. A proxy must append to the one configured and
// ignore (or strip) the other: a header the proxy passes through untouched
// is the client's to forge.
const (
	XForwardedFor Header = "X-Forwarded-For"
	Forwarded     Header = "Forwarded" // RFC 7239
)

// Resolver resolves client addresses. The zero value trusts no proxy and
// always uses the socket address. It is safe for concurrent use.
type Resolver struct {
	trusted []netip.Prefix
	header  Header
}

// New returns a Resolver trusting the given proxy prefixes and reading
// header (XForwardedFor if empty) from them.
func New(trusted []netip.Prefix, header Header) (*Resolver, error) {
	switch header {
	case "":
		header = XForwardedFor
	case XForwardedFor, Forwarded:
	default:
		return nil, fmt.Errorf("client ip: unsupported header %q", header)
	}
	r := &Resolver{header: header}
	for _, p := range trusted {
		if !p.IsValid() {
			return nil, errors.New("client ip: invalid trusted prefix")
		}
		r.trusted = append(r.trusted, p.Masked())
	}
	return r, nil
}

// Addr returns the client address of r. A request whose socket address
// does not parse (not over TCP, e.g. in tests) gets the zero Addr.
func (res *Resolver) Addr(r *http.Request) netip.Addr {
	peer := socketAddr(r.RemoteAddr)
	if res == nil || !res.isTrusted(peer) {
		return peer
	}
	hops := res.hops(r.Header)
	// Walk from the right: the last entries were appended by our proxies;
	// the first address that is not one of them is the client as the
	// outermost trusted proxy saw it (RFC 7239 §5.2; MDN X-Forwarded-For
	// "right-most untrusted"). Anything left of it is the client's to
	// forge and is never read.
	last := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			// An obfuscated or "unknown" hop written by a trusted proxy:
			// the proxy that wrote it is the best we know.
			return last
		}
		if !res.isTrusted(a) {
			return a
		}
		last = a
	}
	return last // every hop is a trusted proxy
}

// Key returns the rate-limit key of r's client: the address for IPv4, the
// /64 prefix for IPv6 (one subscriber usually holds a whole /64, so
// per-address keys would let one client rotate through 2^64 of them).
func (res *Resolver) Key(r *http.Request) string {
	return KeyOf(res.Addr(r))
}

// KeyOf is the rate-limit key of an address; see [Resolver.Key].
func KeyOf(a netip.Addr) string {
	if !a.IsValid() {
		return "unknown"
	}
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

func (res *Resolver) isTrusted(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	for _, p := range res.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// hops lists the forwarded addresses, left to right, across every
// occurrence of the header (RFC 9110 §5.3: repeated fields are one list).
func (res *Resolver) hops(h http.Header) []string {
	var out []string
	for _, line := range h.Values(string(res.header)) {
		for elem := range strings.SplitSeq(line, ",") {
			elem = strings.TrimSpace(elem)
			if res.header == Forwarded {
				elem = forwardedFor(elem)
			}
			out = append(out, elem)
		}
	}
	return out
}

// forwardedFor extracts the for= parameter of one RFC 7239 forwarded-element
// ("for=192.0.2.60;proto=http;by=203.0.113.43"), or "" without one.
func forwardedFor(elem string) string {
	for pair := range strings.SplitSeq(elem, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if ok && strings.EqualFold(k, "for") {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// parseHop parses "192.0.2.1", "192.0.2.1:4711", "2001:db8::1",
// "[2001:db8::1]:4711" (RFC 7239 §6 node syntax, as X-Forwarded-For
// writers also use it).
func parseHop(s string) (netip.Addr, bool) {
	if s == "" {
		return netip.Addr{}, false
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return normalize(a), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return normalize(ap.Addr()), true
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil {
			return normalize(a), true
		}
	}
	return netip.Addr{}, false
}

func socketAddr(remote string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return normalize(ap.Addr())
	}
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return normalize(a)
}

// normalize drops zones and unmaps IPv4-mapped IPv6 addresses, so one
// client has one key whichever way its address is written.
func normalize(a netip.Addr) netip.Addr {
	return a.WithZone("").Unmap()
}
