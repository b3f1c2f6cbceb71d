package cimd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Document is the subset of a client ID metadata document (RFC 7591 §2
// client metadata) that crm-mcp uses. Unknown members are ignored. A
// Document returned by Fetcher.Fetch has been validated and normalized; see
// Fetcher.Fetch for the rules.
type Document struct {
	// ClientID equals the URL the document was fetched from.
	ClientID string
	// ClientName is safe to render as text: control, bidi and zero-width
	// characters are removed and it is at most MaxClientNameRunes runes.
	// It may be empty; show Host(ClientID) then.
	ClientName string
	// ClientURI and LogoURI are https URLs or empty. They are never fetched
	// by this package (G-INV-5); the consent page must not fetch them
	// server-side either.
	ClientURI string
	LogoURI   string
	// RedirectURIs holds 1 to MaxRedirectURIs entries, each https, or
	// http on a loopback host (RFC 8252 §7.3).
	RedirectURIs []string
	// GrantTypes is a non-empty subset of authorization_code and
	// refresh_token that contains authorization_code; absent means
	// ["authorization_code"].
	GrantTypes []string
	// ResponseTypes is ["code"].
	ResponseTypes []string
	// TokenEndpointAuthMethod is always "none": a document cannot carry a
	// shared secret, and private_key_jwt is not supported.
	TokenEndpointAuthMethod string
	// Scope is an RFC 6749 §3.3 scope string or empty.
	Scope string
}

// Limits applied to a document's contents.
const (
	MaxRedirectURIs    = 10
	MaxClientNameRunes = 200
	MaxScopeLength     = 1024
)

func (d Document) clone() Document {
	d.RedirectURIs = append([]string(nil), d.RedirectURIs...)
	d.GrantTypes = append([]string(nil), d.GrantTypes...)
	d.ResponseTypes = append([]string(nil), d.ResponseTypes...)
	return d
}

// parseDocument decodes and validates body as the metadata document for
// clientID. Errors wrap ErrInvalidDocument and never quote the body.
func parseDocument(clientID string, body []byte) (Document, error) {
	members, err := decodeObject(body)
	if err != nil {
		return Document{}, err
	}
	var (
		d    Document
		errs []error
	)
	str := func(name string, dst *string) {
		raw, ok := members[name]
		if !ok {
			return
		}
		if err := json.Unmarshal(raw, dst); err != nil || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			errs = append(errs, fmt.Errorf("member %s: want a string", name))
		}
	}
	list := func(name string, dst *[]string) (present bool) {
		raw, ok := members[name]
		if !ok {
			return false
		}
		if err := json.Unmarshal(raw, dst); err != nil || *dst == nil {
			errs = append(errs, fmt.Errorf("member %s: want an array of strings", name))
		}
		return true
	}
	str("client_id", &d.ClientID)
	str("client_name", &d.ClientName)
	str("client_uri", &d.ClientURI)
	str("logo_uri", &d.LogoURI)
	str("token_endpoint_auth_method", &d.TokenEndpointAuthMethod)
	str("scope", &d.Scope)
	list("redirect_uris", &d.RedirectURIs)
	hasGrants := list("grant_types", &d.GrantTypes)
	hasResponses := list("response_types", &d.ResponseTypes)
	if err := errors.Join(errs...); err != nil {
		return Document{}, fmt.Errorf("%w: %w", ErrInvalidDocument, err)
	}

	// CIMD "Client Metadata": client_id must equal the document URL by
	// simple string comparison (RFC 3986 §6.2.1).
	if d.ClientID != clientID {
		errs = append(errs, errors.New("client_id does not match the document URL"))
	}
	// CIMD forbids shared secrets in a public document.
	for _, m := range []string{"client_secret", "client_secret_expires_at"} {
		if _, ok := members[m]; ok {
			errs = append(errs, fmt.Errorf("member %s is not allowed", m))
		}
	}
	switch d.TokenEndpointAuthMethod {
	case "", "none":
		d.TokenEndpointAuthMethod = "none"
	default:
		errs = append(errs, errors.New("unsupported token_endpoint_auth_method: want none"))
	}
	if !hasGrants {
		d.GrantTypes = []string{"authorization_code"}
	}
	if err := checkGrantTypes(d.GrantTypes); err != nil {
		errs = append(errs, err)
	}
	if !hasResponses {
		d.ResponseTypes = []string{"code"}
	}
	for _, rt := range d.ResponseTypes {
		if rt != "code" {
			errs = append(errs, errors.New("unsupported response_types: want code"))
			break
		}
	}
	if len(d.ResponseTypes) == 0 {
		errs = append(errs, errors.New("response_types is empty"))
	}
	if err := checkRedirectURIs(d.RedirectURIs); err != nil {
		errs = append(errs, err)
	}
	d.ClientName = sanitizeName(d.ClientName)
	if utf8.RuneCountInString(d.ClientName) > MaxClientNameRunes {
		errs = append(errs, fmt.Errorf("client_name longer than %d characters", MaxClientNameRunes))
	}
	if d.ClientURI != "" && !validHTTPSURL(d.ClientURI) {
		errs = append(errs, errors.New("client_uri: want an https URL"))
	}
	if d.LogoURI != "" && !validHTTPSURL(d.LogoURI) {
		errs = append(errs, errors.New("logo_uri: want an https URL"))
	}
	if !validScope(d.Scope) {
		errs = append(errs, errors.New("scope is not a valid scope string"))
	}
	if err := errors.Join(errs...); err != nil {
		return Document{}, fmt.Errorf("%w: %w", ErrInvalidDocument, err)
	}
	return d, nil
}

// decodeObject decodes a single JSON object into its members, keyed by
// the exact member name. Go's encoding/json would match names
// case-insensitively and keep the last of duplicate names; both are parser
// differentials an attacker could use (a "Client_ID" or a second
// "redirect_uris" that another parser reads differently), so duplicates
// are rejected and only exact names count.
func decodeObject(body []byte) (map[string]json.RawMessage, error) {
	bad := fmt.Errorf("%w: not a single JSON object", ErrInvalidDocument)
	if !utf8.Valid(body) {
		return nil, fmt.Errorf("%w: not valid UTF-8", ErrInvalidDocument)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, bad
	}
	members := make(map[string]json.RawMessage)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, bad
		}
		name, ok := tok.(string)
		if !ok {
			return nil, bad
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, bad
		}
		if _, dup := members[name]; dup {
			return nil, fmt.Errorf("%w: duplicate member name", ErrInvalidDocument)
		}
		members[name] = raw
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, bad
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, bad // trailing data
	}
	return members, nil
}

func checkGrantTypes(gts []string) error {
	hasCode := false
	for _, g := range gts {
		switch g {
		case "authorization_code":
			hasCode = true
		case "refresh_token":
		default:
			return errors.New("unsupported grant_types: want authorization_code and optionally refresh_token")
		}
	}
	if !hasCode {
		return errors.New("grant_types must include authorization_code")
	}
	return nil
}

func checkRedirectURIs(uris []string) error {
	switch {
	case len(uris) == 0:
		return errors.New("redirect_uris is required")
	case len(uris) > MaxRedirectURIs:
		return fmt.Errorf("more than %d redirect_uris", MaxRedirectURIs)
	}
	for i, u := range uris {
		if !validRedirectURI(u) {
			// The index, not the value: the value is attacker-chosen.
			return fmt.Errorf("redirect_uris[%d] is not allowed", i)
		}
	}
	return nil
}

// validRedirectURI reports whether u is acceptable as a redirect URI in a
// metadata document: an absolute URL of at most MaxURLLength printable
// ASCII bytes with scheme exactly "https://", or "http://" when the host
// is 127.0.0.1, [::1] or localhost (RFC 8252 §7.3 loopback redirection);
// a host; no userinfo, fragment, wildcard "*", backslash, or "." / ".."
// path segment (also percent-encoded). A query is allowed (RFC 6749
// §3.1.2). Private-use schemes for native apps (RFC 8252 §7.1) are not
// supported.
func validRedirectURI(u string) bool {
	if len(u) == 0 || len(u) > MaxURLLength {
		return false
	}
	for i := 0; i < len(u); i++ {
		if c := u[i]; c <= ' ' || c >= 0x7f || c == '#' || c == '*' || c == '\\' {
			return false
		}
	}
	var loopbackOnly bool
	switch {
	case strings.HasPrefix(u, "https://"):
	case strings.HasPrefix(u, "http://"):
		loopbackOnly = true
	default:
		return false
	}
	p, err := url.Parse(u)
	if err != nil || p.Opaque != "" || p.User != nil || p.Host == "" || p.Hostname() == "" {
		return false
	}
	if strings.Contains(p.Host, "%") { // encoded host or zone
		return false
	}
	if loopbackOnly {
		switch p.Hostname() {
		case "127.0.0.1", "::1", "localhost":
		default:
			return false
		}
	}
	if p.Port() != "" && !validPort(p.Port()) {
		return false
	}
	if p.Port() == "" && strings.HasSuffix(p.Host, ":") {
		return false
	}
	for seg := range strings.SplitSeq(p.EscapedPath(), "/") {
		dec, err := url.PathUnescape(seg)
		if err != nil || dec == "." || dec == ".." {
			return false
		}
	}
	return true
}

// validHTTPSURL checks client_uri and logo_uri: the same shape as an https
// redirect URI.
func validHTTPSURL(u string) bool {
	return strings.HasPrefix(u, "https://") && validRedirectURI(u)
}

// validScope checks RFC 6749 §3.3: scope-tokens of %x21 / %x23-5B /
// %x5D-7E separated by single spaces.
func validScope(s string) bool {
	if s == "" {
		return true
	}
	if len(s) > MaxScopeLength {
		return false
	}
	for tok := range strings.SplitSeq(s, " ") {
		if tok == "" {
			return false
		}
		for i := 0; i < len(tok); i++ {
			c := tok[i]
			if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
				return false
			}
		}
	}
	return true
}

// sanitizeName removes from s every character that can disguise text on a
// consent page: C0/C1 controls, Unicode format characters (category Cf:
// bidi embeddings, overrides and isolates U+202A–U+202E and U+2066–U+2069,
// marks U+200E/U+200F/U+061C, zero-width U+200B–U+200D, U+2060, U+FEFF,
// soft hyphen, tag characters), line and paragraph separators, and
// U+FFFD. Runs of whitespace collapse to one space and the result is
// trimmed.
func sanitizeName(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case r == utf8.RuneError, unicode.Is(unicode.Cc, r) && !unicode.IsSpace(r),
			unicode.Is(unicode.Cf, r), unicode.Is(unicode.Zl, r), unicode.Is(unicode.Zp, r),
			r == '\u180e', r >= '\u200b' && r <= '\u200f', r >= '\u202a' && r <= '\u202e',
			r >= '\u2060' && r <= '\u206f', r == '\ufeff':
			continue
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}
