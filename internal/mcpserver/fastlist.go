package mcpserver

// The tools/list fast path.
//
// go-sdk v1.8.0 re-serialises every tool schema on every tools/list (~480 µs
// of CPU for 20 tools on our machine; docs/performance.md). The answer only
// depends on the registered tools and the protocol revision, so the fast path
// asks go-sdk itself for the answer once per revision (through its own HTTP
// handler, in process), keeps the bytes, and answers a plain tools/list by
// splicing the request's id into them.
//
// It answers only when it is certain go-sdk would have written the same
// status, headers and body: anything it does not fully understand (a cursor,
// an unknown field, an id or _meta shape it does not mirror, a header go-sdk
// checks differently, ...) goes to go-sdk unchanged. fastlist_test.go sends
// the same ~95 request variants to a server with and without the fast path
// and requires identical answers; run it on every go-sdk upgrade.
//
// Limits, by design:
//   - Tools changed after the first tools/list must be changed through
//     [Server.UpdateTools] or followed by [Server.ToolsChanged]: go-sdk has no
//     change hook (its list_changed notification is not sent when no session
//     is connected, which is the normal state of a stateless server).
//   - The fast path bypasses go-sdk receiving middleware. Whoever adds a
//     middleware that changes tools/list (per-user filtering, auditing) must
//     call [Server.SetFastToolsList](false).
//   - With [mcp.ServerOptions.SetCacheable] set it is off: that callback may
//     decide ttlMs/cacheScope per request. (This package's own default,
//     defaultCacheable in server.go, is constant per method, so its values
//     are in the primed bytes; keep it request-independent for tools/list.)

import (
	"bytes"
	"encoding/json"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// newProtocolVersion is the first revision with per-request _meta
// (SEP-2575) and the Mcp-Method header.
const newProtocolVersion = "2026-07-28"

const (
	metaPrefix          = "io.modelcontextprotocol/"
	metaProtocolVersion = metaPrefix + "protocolVersion"
	metaClientInfo      = metaPrefix + "clientInfo"
	metaClientCaps      = metaPrefix + "clientCapabilities"
	metaLogLevel        = metaPrefix + "logLevel"
)

// fastList holds the primed tools/list answers.
type fastList struct {
	sdk     http.Handler // go-sdk's JSON-response handler, used to prime
	enabled atomic.Bool
	mu      sync.Mutex // serialises priming and invalidation
	snap    atomic.Pointer[fastSnapshot]
}

// fastSnapshot is one priming: the answers per MCP-Protocol-Version header
// value ("" for no header). A revision whose priming did not give the
// expected shape is absent and always goes to go-sdk.
type fastSnapshot struct {
	byVersion map[string]*primedList
}

// primedList is go-sdk's answer to tools/list with id 1, split around the id.
type primedList struct {
	tail   []byte // everything after the id: `,"result":{...}}`
	header http.Header
}

// primedPrefix is how go-sdk starts every response it encodes (the
// one-shot path writes it too: encodeMessage in oneshot.go).
const primedPrefix = `{"jsonrpc":"2.0","id":`

func newFastList(sdk http.Handler, so *mcp.ServerOptions) *fastList {
	f := &fastList{sdk: sdk}
	f.enabled.Store(so == nil || so.SetCacheable == nil)
	return f
}

// ToolsChanged drops the primed tools/list answers; the next tools/list
// primes them again. Call it after adding or removing tools through
// [Server.MCP] once the server is serving (or use [Server.UpdateTools]).
func (s *Server) ToolsChanged() {
	if s.fast == nil {
		return
	}
	s.fast.mu.Lock()
	s.fast.snap.Store(nil)
	s.fast.mu.Unlock()
}

// UpdateTools runs change (which adds or removes tools on the go-sdk server)
// and keeps the tools/list fast path consistent with it: once UpdateTools
// returns, every tools/list answers the new list.
func (s *Server) UpdateTools(change func(*mcp.Server)) {
	s.ToolsChanged()
	change(s.mcp)
	s.ToolsChanged()
}

// SetFastToolsList turns the tools/list fast path on or off. Turn it off
// before adding go-sdk receiving middleware that affects tools/list: the fast
// path does not run it.
func (s *Server) SetFastToolsList(on bool) {
	if s.fast == nil {
		return
	}
	s.fast.enabled.Store(on)
	s.ToolsChanged()
}

// serve answers r from the primed bytes and reports true, or reports false
// having written nothing. It runs after the guard, the body read and the
// batch refusal; body is the whole request body.
func (f *fastList) serve(w http.ResponseWriter, r *http.Request, body []byte) bool {
	if f == nil || !f.enabled.Load() {
		return false
	}
	h := r.Header
	// Headers go-sdk reads that would change or fail the answer.
	if len(h["Mcp-Session-Id"]) > 0 || len(h["Last-Event-Id"]) > 0 {
		return false
	}
	// go-sdk's DNS-rebinding check: a loopback listener answers 403 to a
	// non-loopback Host.
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok && la != nil {
		if sdkIsLoopback(la.String()) && !sdkIsLoopback(r.Host) {
			return false
		}
	}
	if ct := h.Get("Content-Type"); ct != "application/json" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return false
		}
	}
	if jsonOK, streamOK := accepts(h.Values("Accept")); !jsonOK || !streamOK {
		return false
	}
	version := h.Get("Mcp-Protocol-Version")
	newProto := version >= newProtocolVersion
	if newProto && h.Get("Mcp-Method") != "tools/list" {
		return false
	}
	id, ok := parseListRequest(body, version, newProto)
	if !ok {
		return false
	}
	snap := f.snap.Load()
	if snap == nil {
		if snap = f.prime(); snap == nil {
			return false
		}
	}
	p := snap.byVersion[version]
	if p == nil {
		return false
	}
	out := make([]byte, 0, len(primedPrefix)+len(id)+len(p.tail))
	out = append(out, primedPrefix...)
	out = append(out, id...)
	out = append(out, p.tail...)
	wh := w.Header()
	for k, v := range p.header {
		wh[k] = v // shared, never modified
	}
	_, _ = w.Write(out)
	return true
}

// prime asks go-sdk for tools/list once per protocol revision and stores
// the answers. It returns nil if the fast path was disabled meanwhile.
func (f *fastList) prime() *fastSnapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	if snap := f.snap.Load(); snap != nil {
		return snap
	}
	snap := &fastSnapshot{byVersion: make(map[string]*primedList)}
	for _, v := range append([]string{""}, ProtocolVersions...) {
		if p := f.primeVersion(v); p != nil {
			snap.byVersion[v] = p
		}
	}
	f.snap.Store(snap)
	return snap
}

func (f *fastList) primeVersion(version string) *primedList {
	body := `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`
	if version >= newProtocolVersion {
		body = `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"` +
			metaProtocolVersion + `":"` + version + `","` + metaClientCaps + `":{}}}}`
	}
	req := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if version != "" {
		req.Header.Set("Mcp-Protocol-Version", version)
	}
	if version >= newProtocolVersion {
		req.Header.Set("Mcp-Method", "tools/list")
	}
	rec := httptest.NewRecorder()
	f.sdk.ServeHTTP(rec, req)
	out := rec.Body.Bytes()
	const id = "1"
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" ||
		!bytes.HasPrefix(out, []byte(primedPrefix+id+`,"result":{`)) || !bytes.HasSuffix(out, []byte("}}")) ||
		!json.Valid(out) {
		return nil
	}
	return &primedList{
		tail:   bytes.Clone(out[len(primedPrefix)+len(id):]),
		header: rec.Header().Clone(),
	}
}

// sdkIsLoopback is go-sdk v1.8.0's internal/util.IsLoopback, which its
// DNS-rebinding check uses (case-sensitive "localhost", unlike our guard).
func sdkIsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = strings.Trim(addr, "[]")
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	return ip.IsLoopback()
}

// parseListRequest accepts exactly
//
//	{"jsonrpc":"2.0","id":ID,"method":"tools/list"[,"params":{["_meta":{...}]}]}
//
// in any key order with JSON whitespace, and returns ID as go-sdk would
// write it back. Unknown, duplicate or escaped keys, a cursor, null params,
// ids go-sdk would rewrite (1.0, 1e3, -0, beyond 2^53) and _meta it would
// treat differently are refused.
func parseListRequest(body []byte, version string, newProto bool) (id []byte, ok bool) {
	if !utf8.Valid(body) {
		return nil, false
	}
	var sawVersion, sawMethod, sawParams bool
	var meta metaSeen
	i := skipWS(body, 0)
	if i >= len(body) || body[i] != '{' {
		return nil, false
	}
	i = skipWS(body, i+1)
	if i < len(body) && body[i] == '}' {
		return nil, false
	}
	for {
		key, next, ok := scanKey(body, i)
		if !ok {
			return nil, false
		}
		start := next
		end, ok := scanValue(body, start, 0)
		if !ok {
			return nil, false
		}
		val := body[start:end]
		switch key {
		case "jsonrpc":
			if sawVersion || string(val) != `"2.0"` {
				return nil, false
			}
			sawVersion = true
		case "method":
			if sawMethod || string(val) != `"tools/list"` {
				return nil, false
			}
			sawMethod = true
		case "id":
			if id != nil {
				return nil, false
			}
			if id, ok = canonicalID(val); !ok {
				return nil, false
			}
		case "params":
			if sawParams {
				return nil, false
			}
			sawParams = true
			if !parseParams(val, version, newProto, &meta) {
				return nil, false
			}
		default:
			return nil, false
		}
		i = skipWS(body, end)
		if i >= len(body) {
			return nil, false
		}
		if body[i] == '}' {
			break
		}
		if body[i] != ',' {
			return nil, false
		}
		i = skipWS(body, i+1)
	}
	if skipWS(body, i+1) != len(body) || !sawVersion || !sawMethod || id == nil {
		return nil, false
	}
	if newProto && (!meta.protocolVersion || !meta.clientCaps) {
		return nil, false
	}
	return id, true
}

type metaSeen struct {
	protocolVersion, clientCaps bool
}

// parseParams accepts {} or {"_meta":{...}}. For legacy revisions the _meta
// must not carry io.modelcontextprotocol/ keys (go-sdk would switch
// protocol); for 2026-07-28 it must carry the protocolVersion matching the
// header and valid clientCapabilities, and may carry clientInfo and logLevel.
func parseParams(val []byte, version string, newProto bool, seen *metaSeen) bool {
	if val[0] != '{' {
		return false
	}
	i := skipWS(val, 1)
	if val[i] == '}' {
		return true
	}
	key, next, ok := scanKey(val, i)
	if !ok || key != "_meta" {
		return false
	}
	end, _ := scanValue(val, next, 0) // validated by the caller's scan
	if skipWS(val, end) != len(val)-1 {
		return false // a second key
	}
	meta := val[next:end]
	if meta[0] != '{' {
		return false
	}
	i = skipWS(meta, 1)
	if meta[i] == '}' {
		return !newProto
	}
	for {
		key, next, ok := scanKey(meta, i)
		if !ok {
			return false
		}
		end, _ := scanValue(meta, next, 0)
		v := meta[next:end]
		if !simpleNumbers(v) {
			return false
		}
		if strings.HasPrefix(key, metaPrefix) {
			if !newProto {
				return false
			}
			switch key {
			case metaProtocolVersion:
				if seen.protocolVersion || string(v) != `"`+version+`"` {
					return false
				}
				seen.protocolVersion = true
			case metaClientCaps:
				if seen.clientCaps || !strictDecodes(v, new(clientCapsMirror)) {
					return false
				}
				seen.clientCaps = true
			case metaClientInfo:
				if !strictDecodes(v, new(mcp.Implementation)) {
					return false
				}
			case metaLogLevel:
				// go-sdk ignores a logLevel it cannot decode; it does not
				// change tools/list.
			default:
				return false
			}
		}
		i = skipWS(meta, end)
		if meta[i] == '}' {
			return true
		}
		i = skipWS(meta, i+1) // ','
	}
}

// clientCapsMirror is the shape go-sdk decodes clientCapabilities into.
type clientCapsMirror struct {
	mcp.ClientCapabilities
	Roots *mcp.RootCapabilities `json:"roots,omitempty"`
}

// strictDecodes reports whether v is a JSON object that decodes into dst
// with every key known: then go-sdk's more lenient decoder accepts it too.
func strictDecodes(v []byte, dst any) bool {
	if v[0] != '{' {
		return false // null or another type: go-sdk refuses
	}
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.DisallowUnknownFields()
	return dec.Decode(dst) == nil
}

// simpleNumbers reports whether every number in v has no exponent and at
// most 100 digits, so that it decodes into a float64 in any decoder.
func simpleNumbers(v []byte) bool {
	inString, escaped, run := false, false, 0
	for _, c := range v {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch {
		case c == '"':
			inString = true
		case c >= '0' && c <= '9' || c == '.':
			if run++; run > 100 {
				return false
			}
			continue
		case (c == 'e' || c == 'E') && run > 0:
			return false // an exponent; true and false have no digit before e
		}
		run = 0
	}
	return true
}

// canonicalID returns the id as go-sdk writes it back, if that is certain:
// a string (re-encoded the way encoding/json does) or an integer literal
// with at most 15 digits (exact in float64, which go-sdk decodes it into).
func canonicalID(val []byte) ([]byte, bool) {
	switch c := val[0]; {
	case c == '"':
		if !bytes.ContainsAny(val[1:len(val)-1], "\\\u2028\u2029") {
			return val, true
		}
		var s string
		if err := json.Unmarshal(val, &s); err != nil || strings.ContainsRune(s, utf8.RuneError) {
			return nil, false
		}
		if bytes.Contains(val, []byte(`\u`)) && !plainUnicodeEscapes(val) {
			return nil, false
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if enc.Encode(s) != nil {
			return nil, false
		}
		return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), true
	case c == '-' || (c >= '0' && c <= '9'):
		digits := val
		if c == '-' {
			digits = val[1:]
		}
		if len(digits) == 0 || len(digits) > 15 || (digits[0] == '0' && len(val) > 1) {
			return nil, false // "-0", leading zeros (invalid anyway)
		}
		for _, d := range digits {
			if d < '0' || d > '9' {
				return nil, false // fraction or exponent
			}
		}
		return val, true
	}
	return nil, false
}

// plainUnicodeEscapes reports whether every \uXXXX escape in the JSON
// string lit is outside the surrogate range, where decoders may disagree.
func plainUnicodeEscapes(lit []byte) bool {
	for i := 0; i < len(lit)-1; i++ {
		if lit[i] != '\\' {
			continue
		}
		if lit[i+1] == 'u' {
			if i+6 > len(lit) {
				return false
			}
			hx := strings.ToLower(string(lit[i+2 : i+6]))
			if hx >= "d800" && hx <= "dfff" {
				return false
			}
		}
		i++ // skip the escaped character
	}
	return true
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanKey reads an unescaped object key and the colon after it, returning
// the key and the index of the value's first byte.
func scanKey(b []byte, i int) (string, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return "", 0, false
	}
	j := i + 1
	for j < len(b) && b[j] != '"' {
		if b[j] == '\\' || b[j] < 0x20 {
			return "", 0, false
		}
		j++
	}
	if j >= len(b) {
		return "", 0, false
	}
	key := string(b[i+1 : j])
	k := skipWS(b, j+1)
	if k >= len(b) || b[k] != ':' {
		return "", 0, false
	}
	k = skipWS(b, k+1)
	if k >= len(b) {
		return "", 0, false
	}
	return key, k, true
}

// maxDepth bounds nesting in scanValue; deeper input goes to go-sdk.
const maxDepth = 32

// scanValue validates the JSON value starting at b[i] and returns the index
// just after it.
func scanValue(b []byte, i, depth int) (int, bool) {
	if i >= len(b) || depth > maxDepth {
		return 0, false
	}
	switch c := b[i]; {
	case c == '"':
		return scanString(b, i)
	case c == '{' || c == '[':
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		j := skipWS(b, i+1)
		if j < len(b) && b[j] == closing {
			return j + 1, true
		}
		for {
			if c == '{' {
				if j >= len(b) || b[j] != '"' {
					return 0, false
				}
				k, ok := scanString(b, j)
				if !ok {
					return 0, false
				}
				j = skipWS(b, k)
				if j >= len(b) || b[j] != ':' {
					return 0, false
				}
				j = skipWS(b, j+1)
			}
			k, ok := scanValue(b, j, depth+1)
			if !ok {
				return 0, false
			}
			j = skipWS(b, k)
			if j >= len(b) {
				return 0, false
			}
			if b[j] == closing {
				return j + 1, true
			}
			if b[j] != ',' {
				return 0, false
			}
			j = skipWS(b, j+1)
		}
	case c == 't':
		return scanLiteral(b, i, "true")
	case c == 'f':
		return scanLiteral(b, i, "false")
	case c == 'n':
		return scanLiteral(b, i, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return scanNumber(b, i)
	}
	return 0, false
}

func scanLiteral(b []byte, i int, lit string) (int, bool) {
	if !bytes.HasPrefix(b[i:], []byte(lit)) {
		return 0, false
	}
	return i + len(lit), true
}

// scanString validates a JSON string starting at the quote b[i].
func scanString(b []byte, i int) (int, bool) {
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return j + 1, true
		case c < 0x20:
			return 0, false
		case c == '\\':
			j++
			if j >= len(b) {
				return 0, false
			}
			switch b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(b) {
					return 0, false
				}
				for _, h := range b[j+1 : j+5] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return 0, false
					}
				}
				j += 4
			default:
				return 0, false
			}
		}
	}
	return 0, false
}

// scanNumber validates a JSON number (RFC 8259 §6) starting at b[i].
func scanNumber(b []byte, i int) (int, bool) {
	j := i
	if b[j] == '-' {
		j++
	}
	digits := func() bool {
		k := j
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		return j > k
	}
	if j < len(b) && b[j] == '0' {
		j++
	} else if !digits() {
		return 0, false
	}
	if j < len(b) && b[j] == '.' {
		j++
		if !digits() {
			return 0, false
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		if !digits() {
			return 0, false
		}
	}
	return j, true
}
