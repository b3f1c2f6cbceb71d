// Package redirecturi decides which OAuth redirect URIs may be registered
// and whether a requested one matches a registration. It is shared by
// dynamic registration and Client ID Metadata Documents so both apply one
// policy.
//
// Policy (RFC 9700 §2.1, §4.1.3; RFC 8252 §7; MCP authorization):
//   - https URIs with a host, no userinfo, no fragment, no wildcards;
//   - http only on loopback (127.0.0.1, [::1], localhost), any port at use;
//   - private-use schemes of native apps: reverse-domain schemes
//     ("com.example.app:") and the schemes of known MCP clients ("cursor:",
//     "vscode:"), never javascript:, data:, file: and the like.
//
// Matching is exact string comparison, except that a loopback http URI
// matches any port (RFC 8252 §7.3).
package redirecturi

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

// MaxLength bounds one redirect URI.
const MaxLength = 2000

// nativeSchemes are private-use schemes of MCP clients seen in the wild.
var nativeSchemes = map[string]bool{
	"cursor": true, "vscode": true, "vscode-insiders": true, "claude": true,
	"windsurf": true, "zed": true, "raycast": true,
}

// forbiddenSchemes can never be redirect targets, whatever their shape.
var forbiddenSchemes = map[string]bool{
	"javascript": true, "data": true, "file": true, "vbscript": true, "blob": true,
	"about": true, "ftp": true, "ws": true, "wss": true, "mailto": true, "tel": true,
}

// ErrInvalid is wrapped by every validation failure.
var ErrInvalid = errors.New("invalid redirect URI")

func invalid(why string) error { return fmt.Errorf("%w: %s", ErrInvalid, why) }

// Validate reports whether uri may be registered.
func Validate(uri string) error {
	if uri == "" || len(uri) > MaxLength {
		return invalid("empty or too long")
	}
	for _, r := range uri {
		if r <= 0x20 || r == 0x7f || r > 0x7e || r == '\\' {
			return invalid("contains whitespace, control, backslash or non-ASCII characters")
		}
	}
	if strings.Contains(uri, "*") {
		return invalid("wildcards are not allowed")
	}
	u, err := url.Parse(uri)
	if err != nil {
		return invalid("unparseable")
	}
	scheme := strings.ToLower(u.Scheme)
	rawScheme, _, _ := strings.Cut(uri, ":") // url.Parse lower-cases the scheme
	switch {
	case u.Scheme == "":
		return invalid("relative URIs are not allowed")
	case scheme != rawScheme:
		return invalid("scheme must be lower case")
	case forbiddenSchemes[scheme]:
		return invalid("scheme " + scheme + " is not allowed")
	case u.Fragment != "" || strings.Contains(uri, "#"):
		return invalid("fragments are not allowed")
	case u.User != nil:
		return invalid("userinfo is not allowed")
	}
	if hasDotSegments(u.EscapedPath()) {
		return invalid("dot segments are not allowed")
	}
	switch scheme {
	case "https":
		if u.Host == "" || u.Hostname() == "" {
			return invalid("https URI needs a host")
		}
		if u.Hostname() != strings.ToLower(u.Hostname()) {
			return invalid("host must be lower case")
		}
		return nil
	case "http":
		if !IsLoopbackHost(u.Hostname()) {
			return invalid("http is allowed only on loopback")
		}
		return nil
	}
	// A private-use scheme: reverse domain name or a known client scheme.
	if !nativeSchemes[scheme] && !strings.Contains(scheme, ".") {
		return invalid("custom scheme must be a reverse domain name or a known client scheme")
	}
	return nil
}

// hasDotSegments finds "." or ".." path segments, also percent-encoded.
func hasDotSegments(path string) bool {
	p := strings.ToLower(path)
	for _, seg := range strings.Split(p, "/") {
		switch strings.ReplaceAll(strings.ReplaceAll(seg, "%2e", "."), "%252e", ".") {
		case ".", "..":
			return true
		}
	}
	return strings.Contains(p, "%2f") || strings.Contains(p, "%5c")
}

// IsLoopbackHost reports whether host is localhost or a loopback IP literal.
// Names that merely start with "localhost" or "127." are not loopback.
func IsLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && ip.IsLoopback() && !ip.Is4In6()
}

// Match reports whether requested may be used with a client that
// registered the given URIs.
func Match(registered []string, requested string) bool {
	for _, r := range registered {
		if r == requested {
			return true
		}
	}
	// RFC 8252 §7.3: loopback redirects may use any port.
	ru, err := url.Parse(requested)
	if err != nil || ru.Scheme != "http" || !IsLoopbackHost(ru.Hostname()) || ru.User != nil || ru.Fragment != "" {
		return false
	}
	for _, r := range registered {
		u, err := url.Parse(r)
		if err != nil || u.Scheme != "http" || !IsLoopbackHost(u.Hostname()) {
			continue
		}
		if u.Hostname() == ru.Hostname() && u.EscapedPath() == ru.EscapedPath() && u.RawQuery == ru.RawQuery {
			return true
		}
	}
	return false
}
