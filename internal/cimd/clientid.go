package cimd

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
)

// Sentinel errors returned by this package. Callers match them with
// errors.Is; the wrapping text is for logs and never contains response
// bodies.
var (
	// ErrInvalidClientID means the client_id is not a URL client id this
	// package accepts (see IsURLClientID). Nothing was fetched.
	ErrInvalidClientID = errors.New("cimd: not a valid URL client_id")
	// ErrForbiddenAddress means the client_id host resolved to, or a dial
	// targeted, an address that is not public unicast. No connection was
	// made.
	ErrForbiddenAddress = errors.New("cimd: forbidden address")
	// ErrFetch means the document could not be retrieved: DNS, network or
	// TLS failure, timeout, non-200 status (redirects included), wrong
	// content type, or an oversized body.
	ErrFetch = errors.New("cimd: fetch client metadata")
	// ErrInvalidDocument means the document was retrieved but is not valid
	// JSON or violates the metadata rules (see Fetcher.Fetch).
	ErrInvalidDocument = errors.New("cimd: invalid client metadata document")
)

// MaxURLLength bounds a client_id and each redirect URI, in bytes.
const MaxURLLength = 2048

// IsURLClientID reports whether clientID is a URL client identifier in the
// form this package will fetch. Per the CIMD draft ("Client Identifier") it
// must use the https scheme, contain a path, and contain no fragment, no
// userinfo and no "." or ".." path segments. This implementation is stricter
// than the draft, so that the client_id is canonical (it is compared by
// exact string match and used as a cache key) and cannot smuggle parser
// differentials:
//
//   - the scheme is written exactly "https://" (lowercase);
//   - the host is a lowercase ASCII DNS name of at least two labels whose
//     last label is not all digits; IP literals, "localhost" and
//     "*.localhost" are rejected, and internationalized names must be
//     written as A-labels ("xn--…") since non-ASCII is rejected;
//   - an explicit port must be 1–65535 without leading zeros;
//   - the path holds only RFC 3986 pchars and valid percent escapes, and no
//     encoded "/", "\" or NUL; dot segments are rejected in encoded form
//     too ("%2e%2E");
//   - a query (which the draft discourages) is rejected;
//   - the whole URL is at most MaxURLLength bytes.
func IsURLClientID(clientID string) bool {
	_, _, ok := splitClientID(clientID)
	return ok
}

// Host returns the authority a consent page should show for a URL client
// id, e.g. "claude.ai", or "example.com:8443" when the id names a port. It
// returns "" if clientID is not accepted by IsURLClientID. The host is
// always ASCII (A-label form), so it cannot hide homoglyphs.
func Host(clientID string) string {
	authority, _, ok := splitClientID(clientID)
	if !ok {
		return ""
	}
	return authority
}

// splitClientID validates clientID and returns its authority (host[:port])
// and path.
func splitClientID(s string) (authority, path string, ok bool) {
	const scheme = "https://"
	if len(s) > MaxURLLength || !strings.HasPrefix(s, scheme) {
		return "", "", false
	}
	rest := s[len(scheme):]
	slash := strings.IndexByte(rest, '/')
	if slash < 0 {
		return "", "", false // no path component
	}
	authority, path = rest[:slash], rest[slash:]
	host, port, hasPort := strings.Cut(authority, ":")
	if !validDNSHost(host) {
		return "", "", false
	}
	if hasPort && !validPort(port) {
		return "", "", false
	}
	if !validPath(path) {
		return "", "", false
	}
	// Belt and braces: the strict grammar above must agree with net/url.
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Opaque != "" || u.User != nil ||
		u.Host != authority || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "", "", false
	}
	return authority, path, true
}

// validDNSHost reports whether h is a lowercase LDH host name (RFC 1123)
// with at least two labels, whose last label is not numeric (which rules
// out IPv4 literals and the inet_aton forms like "0x7f.1").
func validDNSHost(h string) bool {
	if len(h) == 0 || len(h) > 253 {
		return false
	}
	labels := strings.Split(h, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	if strings.Trim(tld, "0123456789") == "" || strings.HasPrefix(tld, "0x") {
		return false
	}
	// RFC 6761 §6.3: localhost names resolve to loopback; refuse them
	// before any lookup.
	if tld == "localhost" {
		return false
	}
	return true
}

func validPort(p string) bool {
	if len(p) == 0 || len(p) > 5 || p[0] == '0' {
		return false
	}
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535 && strconv.Itoa(n) == p
}

// validPath checks an absolute path made of RFC 3986 pchars, rejecting dot
// segments (also percent-encoded) and encoded separators or NUL.
func validPath(p string) bool {
	if !strings.HasPrefix(p, "/") {
		return false
	}
	for seg := range strings.SplitSeq(p[1:], "/") {
		dec, ok := decodeSegment(seg)
		if !ok || dec == "." || dec == ".." {
			return false
		}
	}
	return true
}

// decodeSegment validates one path segment's characters and returns it
// percent-decoded.
func decodeSegment(seg string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		switch {
		case c == '%':
			if i+2 >= len(seg) || !isHex(seg[i+1]) || !isHex(seg[i+2]) {
				return "", false
			}
			v := unhex(seg[i+1])<<4 | unhex(seg[i+2])
			if v == '/' || v == '\\' || v == 0 {
				return "", false
			}
			b.WriteByte(v)
			i += 2
		case isPchar(c):
			b.WriteByte(c)
		default:
			return "", false
		}
	}
	return b.String(), true
}

// isPchar reports RFC 3986 §3.3 pchar minus pct-encoded: unreserved,
// sub-delims, ":" and "@".
func isPchar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@", c) >= 0
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
