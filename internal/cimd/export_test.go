package cimd

import (
	"context"
	"net"
	"net/http"
	"net/netip"
)

// Test bridges to internals.

var (
	ParseDocument = parseDocument
	IsForbidden   = isForbidden
	SanitizeName  = sanitizeName
)

// SetDialHook makes f call hook with the ip:port of every connection
// attempt. Call it before the first Fetch.
func SetDialHook(f *Fetcher, hook func(addr string)) { f.dialHook = hook }

// CacheLen returns the number of cached entries.
func CacheLen(f *Fetcher) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cache.len()
}

// CheckDial runs the dialer's Control re-check for address.
func CheckDial(f *Fetcher, address string) error { return f.control("tcp", address, nil) }

// DialUnvetted dials addr through f's transport without a vetted target.
func DialUnvetted(ctx context.Context, f *Fetcher, addr string) (net.Conn, error) {
	return f.client.Transport.(*http.Transport).DialContext(ctx, "tcp", addr)
}

// DialVetted dials addr through f's transport as if host had been vetted
// to addrs.
func DialVetted(ctx context.Context, f *Fetcher, addr, host, port string, addrs []netip.Addr) (net.Conn, error) {
	ctx = context.WithValue(ctx, targetKey{}, &target{host: host, port: port, addrs: addrs})
	return f.client.Transport.(*http.Transport).DialContext(ctx, "tcp", addr)
}
