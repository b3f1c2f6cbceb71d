package cimd

import "net/netip"

// forbiddenPrefixes are ranges that are never a legitimate public web
// server, beyond what netip.Addr's predicates already cover. IPv4-mapped
// IPv6 addresses are unmapped before checking, and IPv6 transition forms
// that embed an IPv4 address are checked by their embedded address.
var forbiddenPrefixes = mustPrefixes(
	// IPv4 (RFC 6890 special-purpose registry).
	"0.0.0.0/8",       // "this network"
	"10.0.0.0/8",      // RFC 1918
	"100.64.0.0/10",   // RFC 6598 shared address space (CGNAT)
	"127.0.0.0/8",     // loopback
	"169.254.0.0/16",  // link-local, incl. 169.254.169.254 cloud metadata
	"172.16.0.0/12",   // RFC 1918
	"192.0.0.0/24",    // IETF protocol assignments
	"192.0.2.0/24",    // TEST-NET-1
	"192.88.99.0/24",  // 6to4 relay anycast (deprecated)
	"192.168.0.0/16",  // RFC 1918
	"198.18.0.0/15",   // benchmarking
	"198.51.100.0/24", // TEST-NET-2
	"203.0.113.0/24",  // TEST-NET-3
	"224.0.0.0/4",     // multicast
	"240.0.0.0/4",     // reserved, incl. 255.255.255.255 broadcast
	// IPv6.
	"::/96",           // unspecified, loopback, deprecated IPv4-compatible
	"::ffff:0:0:0/96", // SIIT IPv4-translated
	"64:ff9b:1::/48",  // local-use NAT64
	"100::/64",        // discard-only
	"2001::/23",       // IETF protocol assignments, incl. Teredo
	"2001:db8::/32",   // documentation
	"3fff::/20",       // documentation
	"fc00::/7",        // unique local
	"fe80::/10",       // link-local
	"fec0::/10",       // site-local (deprecated)
	"ff00::/8",        // multicast
)

var (
	nat64 = netip.MustParsePrefix("64:ff9b::/96")
	six4  = netip.MustParsePrefix("2002::/16")
)

func mustPrefixes(ss ...string) []netip.Prefix {
	ps := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		ps[i] = netip.MustParsePrefix(s)
	}
	return ps
}

// isForbidden reports whether a is not a public unicast address and so
// must never be fetched from.
func isForbidden(a netip.Addr) bool {
	if !a.IsValid() || a.Zone() != "" {
		return true
	}
	a = a.Unmap()
	if !a.IsGlobalUnicast() || a.IsPrivate() || a.IsLoopback() || a.IsMulticast() ||
		a.IsLinkLocalUnicast() || a.IsUnspecified() {
		return true
	}
	for _, p := range forbiddenPrefixes {
		if p.Contains(a) {
			return true
		}
	}
	// Transition mechanisms route to the embedded IPv4 address.
	if a.Is6() {
		b := a.As16()
		switch {
		case nat64.Contains(a):
			return isForbidden(netip.AddrFrom4([4]byte(b[12:16])))
		case six4.Contains(a):
			return isForbidden(netip.AddrFrom4([4]byte(b[2:6])))
		}
	}
	return false
}

// permitted reports whether a may be connected to: public unicast, or
// inside one of the allow prefixes (tests only).
func permitted(a netip.Addr, allow []netip.Prefix) bool {
	if !isForbidden(a) {
		return true
	}
	if !a.IsValid() || a.Zone() != "" {
		return false
	}
	u := a.Unmap()
	for _, p := range allow {
		if p.Contains(u) {
			return true
		}
	}
	return false
}
