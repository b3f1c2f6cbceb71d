package outputguard

import (
	"html"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

const (
	// neutralLT replaces the introducer of every tag-like sequence whose
	// name folds to "tooldata". It is U+2039 SINGLE LEFT-POINTING ANGLE
	// QUOTATION MARK: readable as a bracket, not "<" under NFKC, and not an
	// introducer itself, so neutralised text stays neutral.
	neutralLT = "\u2039"

	// boundaryName is the tag name the package protects, folded: lower case,
	// separators removed.
	boundaryName = "tooldata"

	// maxPasses bounds the fixpoint loop in Sanitize. One pass already
	// reaches the fixpoint (see sanitizePass); the loop is defence in depth
	// and the cost of the check is one extra scan when something changed.
	maxPasses = 4

	// maxEscapeDepth bounds how many layers of escaping are unwrapped at one
	// position, as in "&amp;lt;" or "%253C".
	maxEscapeDepth = 4

	// maxEntityName bounds the letters read for a named character reference.
	// The longest HTML5 name, "CounterClockwiseContourIntegral", has 31.
	maxEntityName = 40
)

// Sanitize returns s with every boundary-tag look-alike neutralised and
// every invisible character removed, so that s can sit between the
// boundary tags written by [Wrap] without being able to close or reopen
// them. The rules are listed in the package documentation.
//
// Sanitize never fails and never panics. Its output is valid UTF-8 (each
// invalid byte becomes U+FFFD) and a fixpoint (Sanitize(Sanitize(s)) ==
// Sanitize(s)). Time is linear in len(s). Printable ASCII without "<",
// "&", "\" or "%" is returned as is after a single byte scan; other text
// is copied only if something changes.
func Sanitize(s string) string {
	if isPlain(s) {
		return s
	}
	for range maxPasses {
		t := sanitizePass(s)
		if t == s {
			return t
		}
		s = t
	}
	return s
}

// isPlain reports whether s is printable ASCII (plus newline and tab)
// without any byte that can start a tag, an entity or an escape. Such text
// needs no work.
func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if !plainByte[s[i]] {
			return false
		}
	}
	return true
}

var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = true
	}
	t['\n'], t['\t'] = true, true
	t['<'], t['&'], t['\\'], t['%'] = false, false, false, false
	return t
}()

// sanitizePass strips invisible characters and then neutralises tags in
// the stripped text. Stripping first matters: removing a character can
// assemble an entity or escape ("&l\u200Bt;" becomes "&lt;"), and the tag
// scan must see the assembled form. Neutralising creates no work for
// stripping either: "‹" is not an introducer, and a kept joiner or
// presentation selector never neighbours a replaced introducer in a way
// that changes whether it is kept. So one pass reaches the fixpoint, which
// FuzzSanitize checks.
func sanitizePass(s string) string {
	return neutralizeTags(stripInvisible(s))
}

// stripInvisible replaces invalid UTF-8 bytes with U+FFFD and removes C0
// controls other than newline and tab, DEL, C1 controls, format characters
// (category Cf: bidi controls, zero-width characters, soft hyphen, word
// joiner, BOM, Unicode tag characters, interlinear annotation), other
// default-ignorable code points (Hangul fillers, combining grapheme joiner,
// …) and variation selectors. Three exceptions keep ordinary text intact:
// ZWJ between emoji (👩‍💻), ZWJ and ZWNJ between letters of scripts that
// use them for shaping (Persian, Indic), and a single U+FE0E/U+FE0F
// presentation selector after a visible character (❤️).
func stripInvisible(s string) string {
	if !utf8.ValidString(s) {
		s = replaceInvalid(s)
	}
	var out []byte // nil until the first change
	last := 0      // s[last:i] is kept but not yet copied to out
	for i := 0; i < len(s); {
		c := s[i]
		if !stripCandidate[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf { // a control
			out = flush(out, s, last, i)
			i++
			last = i
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if isInvisible(r) && !keepInvisible(lastKept(out, s, last, i), r, s[i+n:]) {
			out = flush(out, s, last, i)
			last = i + n
		}
		i += n
	}
	if out == nil {
		return s
	}
	return string(flush(out, s, last, len(s)))
}

// stripCandidate marks the bytes at which stripInvisible must look closer
// in valid UTF-8: controls, and the lead bytes of the blocks that hold
// C1 controls, format, default-ignorable and variation-selector code
// points (TestStripCandidateCoversInvisible checks the list). Continuation
// bytes and the lead bytes of most letters are skipped without decoding.
var stripCandidate = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = c != '\n' && c != '\t'
	}
	t[0x7f] = true
	for _, c := range []byte{0xc2, 0xcd, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf,
		0xe0, 0xe1, 0xe2, 0xe3, 0xef, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4} {
		t[c] = true
	}
	return t
}()

// replaceInvalid replaces each byte of s that is not part of a valid UTF-8
// encoding with U+FFFD.
func replaceInvalid(s string) string {
	b := make([]byte, 0, len(s)+16)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, "\uFFFD"...)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return string(b)
}

// lastKept returns the last rune stripInvisible has kept before s[i], or
// -1 at the start of the text.
func lastKept(out []byte, s string, last, i int) rune {
	if i > last {
		r, _ := utf8.DecodeLastRuneInString(s[last:i])
		return r
	}
	if len(out) > 0 {
		r, _ := utf8.DecodeLastRune(out)
		return r
	}
	return -1
}

// flush copies the pending kept segment s[last:i] to out, allocating out on
// first use.
func flush(out []byte, s string, last, i int) []byte {
	if out == nil {
		out = make([]byte, 0, len(s))
	}
	return append(out, s[last:i]...)
}

// isInvisible reports whether the non-ASCII rune r is removed by
// stripInvisible unless keepInvisible allows it.
func isInvisible(r rune) bool {
	switch {
	case r <= 0x9f: // C1 controls
		return true
	case r >= 0xe0000 && r <= 0xe0fff: // tags, variation selectors supplement, reserved ignorables
		return true
	case !mayBeInvisible(r):
		return false
	}
	return unicode.In(r, unicode.Cf, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector)
}

// mayBeInvisible is a cheap pre-filter for isInvisible: it is true for
// every format, default-ignorable or variation-selector code point
// (TestMayBeInvisibleCoversTables checks this against the Unicode tables)
// and false for most letters, so ordinary accented, Cyrillic or CJK text
// skips the table lookups.
func mayBeInvisible(r rune) bool {
	switch {
	case r < 0x300:
		return r == 0xad
	case r < 0x34f:
		return false
	case r < 0x600:
		return r == 0x34f
	case r < 0x900:
		return true
	case r < 0x115f:
		return false
	case r < 0x1161:
		return true
	case r < 0x17b4:
		return false
	case r < 0x1810:
		return true
	case r < 0x2000:
		return false
	case r < 0x2070:
		return true
	case r < 0x3164:
		return false
	case r == 0x3164:
		return true
	case r < 0xfe00:
		return false
	}
	return true
}

// keepInvisible reports whether the invisible rune r, following the kept
// rune prev and followed by rest, is part of ordinary text.
func keepInvisible(prev, r rune, rest string) bool {
	switch r {
	case '\uFE0E', '\uFE0F': // text/emoji presentation, at most one per character
		return prev > ' ' && !unicode.Is(unicode.Variation_Selector, prev)
	case '\u200C', '\u200D': // ZWNJ, ZWJ
		next, _ := utf8.DecodeRuneInString(rest)
		if r == '\u200D' && (isPictographic(prev) || prev == '\uFE0F') && isPictographic(next) {
			return true
		}
		return isJoiningLetter(prev) && isJoiningLetter(next)
	}
	return false
}

// isPictographic approximates Extended_Pictographic (UTS #51), which the
// standard library does not provide, by the blocks that hold emoji.
func isPictographic(r rune) bool {
	if isLessThan(r) { // 〈 and ❮ sit in these blocks but never join emoji
		return false
	}
	switch {
	case r >= 0x1f000 && r <= 0x1faff, r >= 0x2600 && r <= 0x27bf,
		r >= 0x2300 && r <= 0x23ff, r >= 0x2b00 && r <= 0x2bff,
		r >= 0x2190 && r <= 0x21ff, r >= 0x25a0 && r <= 0x25ff:
		return true
	}
	switch r {
	case 0xa9, 0xae, 0x203c, 0x2049, 0x2122, 0x2139, 0x3030, 0x303d, 0x3297, 0x3299:
		return true
	}
	return false
}

// joiningScripts are the scripts whose orthography uses ZWJ/ZWNJ to choose
// glyph shapes (Persian half-space, Indic half forms).
var joiningScripts = []*unicode.RangeTable{
	unicode.Arabic, unicode.Syriac, unicode.Nko, unicode.Mongolian,
	unicode.Devanagari, unicode.Bengali, unicode.Gurmukhi, unicode.Gujarati,
	unicode.Oriya, unicode.Tamil, unicode.Telugu, unicode.Kannada,
	unicode.Malayalam, unicode.Sinhala, unicode.Myanmar, unicode.Khmer,
}

func isJoiningLetter(r rune) bool {
	return r >= 0x600 && (unicode.IsLetter(r) || unicode.IsMark(r)) && unicode.In(r, joiningScripts...)
}

// neutralizeTags replaces the introducer of every boundary-tag look-alike
// in s with neutralLT. s must be valid UTF-8.
func neutralizeTags(s string) string {
	var out []byte
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		if !tagCandidate[c] {
			i++
			continue
		}
		size := 1
		if c >= utf8.RuneSelf {
			var r rune
			r, size = utf8.DecodeRuneInString(s[i:])
			if !isLessThan(r) {
				i += size
				continue
			}
		}
		if text, n := unitAt(s, i); isIntroducer(text) && nameFollows(s, i+n) {
			out = append(flush(out, s, last, i), neutralLT...)
			i += n
			last = i
			continue
		}
		i += size
	}
	if out == nil {
		return s
	}
	return string(flush(out, s, last, len(s)))
}

// tagCandidate marks the bytes that can start a tag introducer: "<", the
// escape introducers, and the lead bytes of the non-ASCII less-than
// look-alikes (TestTagCandidateCoversLessThan checks the list).
var tagCandidate = func() (t [256]bool) {
	for _, c := range []byte{'<', '&', '\\', '%', 0xcb, 0xe1, 0xe2, 0xe3, 0xef} {
		t[c] = true
	}
	return t
}()

// unitAt returns the logical text of the unit that starts at s[i] and the
// unit's length in bytes. A unit is a character reference or escape
// (decoded, possibly through several layers) or else one rune (verbatim).
func unitAt(s string, i int) (string, int) {
	c := s[i]
	if c == '&' || c == '\\' || c == '%' {
		if text, n := escapeChain(s, i); n > 0 {
			return text, n
		}
	}
	if c < utf8.RuneSelf {
		return s[i : i+1], 1
	}
	_, n := utf8.DecodeRuneInString(s[i:])
	return s[i : i+n], n
}

// escapeChain decodes the escape that starts at s[i] and, while the result
// is itself an escape introducer ("&amp;lt;", "%253C", "&#92;u003c"), the
// escape that the result starts together with the bytes that follow. It
// returns the final text and the number of bytes consumed, or 0 if s[i]
// does not start an escape.
func escapeChain(s string, i int) (string, int) {
	intro, j := s[i], i+1
	text := ""
	for depth := range maxEscapeDepth {
		lead := ""
		if depth == 0 {
			lead = s[i:] // the introducer is in s, not produced by decoding
		}
		t, m := escapeBody(intro, s[j:], lead)
		if m == 0 {
			break
		}
		text, j = t, j+m
		if t != "&" && t != "\\" && t != "%" {
			break
		}
		intro = t[0]
	}
	if text == "" {
		return "", 0
	}
	return text, j - i
}

// escapeBody decodes the escape that begins with intro and continues with
// rest. It returns the decoded text and how many bytes of rest the escape
// uses, or 0 if there is none. If the introducer is a byte of the text,
// lead is the text from that byte on (lead[1:] == rest), which spares an
// allocation; otherwise lead is empty.
func escapeBody(intro byte, rest, lead string) (string, int) {
	switch intro {
	case '&':
		return entityBody(rest, lead)
	case '\\':
		return backslashBody(rest)
	case '%':
		// Percent-encoding is decoded for ASCII only; encoded non-ASCII
		// look-alikes are a documented residual risk.
		if len(rest) >= 2 {
			hi, ok1 := hexVal(rest[0])
			lo, ok2 := hexVal(rest[1])
			if ok1 && ok2 && hi < 8 {
				return string(rune(hi<<4 | lo)), 2
			}
		}
	}
	return "", 0
}

// entityBody decodes an HTML character reference without its "&".
//
// Numeric references follow the HTML tokenizer as implemented by
// html.UnescapeString, including its int32 wrap-around for absurdly long
// digit runs, but C1 code points stay C1 controls instead of being mapped
// through Windows-1252, and a reference is decoded even at the very end of
// the text. Named references are looked up by html.UnescapeString itself,
// so the full HTML5 table applies, including legacy names without a
// semicolon ("&lt/tool-data").
func entityBody(rest, lead string) (string, int) {
	if rest == "" {
		return "", 0
	}
	if rest[0] == '#' {
		k, base := 1, rune(10)
		if k < len(rest) && (rest[k] == 'x' || rest[k] == 'X') {
			k, base = 2, 16
		}
		start := k
		var x rune
		for ; k < len(rest); k++ {
			d, ok := hexVal(rest[k])
			if !ok || rune(d) >= base {
				break
			}
			x = base*x + rune(d) // wraps like html.UnescapeString
		}
		if k == start {
			return "", 0
		}
		if k < len(rest) && rest[k] == ';' {
			k++
		}
		if x == 0 || x < 0 || x > unicode.MaxRune || x >= 0xd800 && x <= 0xdfff {
			x = utf8.RuneError
		}
		return string(x), k
	}
	k := 0
	for k < len(rest) && k < maxEntityName && isAlnum(rest[k]) {
		k++
	}
	if k == 0 {
		return "", 0
	}
	if k < len(rest) && rest[k] == ';' {
		k++
	}
	var cand string
	if lead != "" {
		cand = lead[:1+k]
	} else {
		cand = "&" + rest[:k]
	}
	out := html.UnescapeString(cand)
	if out == cand {
		return "", 0
	}
	// A legacy name decoded as a prefix leaves the remaining letters (and a
	// trailing ";") verbatim at the end of out. Decoded text never ends in
	// an ASCII letter or digit, so the common suffix is exactly that tail.
	tail := 0
	for tail < len(out)-1 && tail < len(cand)-1 {
		b := out[len(out)-1-tail]
		if b != cand[len(cand)-1-tail] || !isAlnum(b) && b != ';' {
			break
		}
		tail++
	}
	return out[:len(out)-tail], len(cand) - 1 - tail
}

// backslashBody decodes a JSON/JavaScript escape without its "\": \/,
// \xHH, \uHHHH, \u{H…} (1–6 digits) and \UHHHHHHHH.
func backslashBody(rest string) (string, int) {
	if rest == "" {
		return "", 0
	}
	hexRun := func(s string, n int) (rune, bool) {
		if len(s) < n {
			return 0, false
		}
		var x rune
		for i := range n {
			d, ok := hexVal(s[i])
			if !ok {
				return 0, false
			}
			x = x<<4 | rune(d)
		}
		return x, true
	}
	switch rest[0] {
	case '/':
		return "/", 1
	case 'x':
		if x, ok := hexRun(rest[1:], 2); ok {
			return string(x), 3
		}
	case 'U':
		if x, ok := hexRun(rest[1:], 8); ok {
			return string(validRune(x)), 9
		}
	case 'u':
		if len(rest) > 1 && rest[1] == '{' {
			end := strings.IndexByte(rest[2:min(len(rest), 9)], '}')
			if end >= 1 {
				if x, ok := hexRun(rest[2:], end); ok {
					return string(validRune(x)), end + 3
				}
			}
			return "", 0
		}
		if x, ok := hexRun(rest[1:], 4); ok {
			return string(validRune(x)), 5
		}
	}
	return "", 0
}

func validRune(x rune) rune {
	if x < 0 || x > unicode.MaxRune || x >= 0xd800 && x <= 0xdfff {
		return utf8.RuneError
	}
	return x
}

func hexVal(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// isIntroducer reports whether text, once decomposed and stripped of
// fillers, is exactly one less-than look-alike.
func isIntroducer(text string) bool {
	seen := false
	for _, r := range text {
		switch {
		case isLessThan(r):
			if seen {
				return false
			}
			seen = true
		case isFiller(r):
		default:
			return false
		}
	}
	return seen
}

// isLessThan reports whether r is "<" or one of its look-alikes: the
// characters whose compatibility decomposition is "<" (possibly followed by
// combining marks; TestLessThanTableComplete checks the list against the
// Unicode tables) and the angle brackets that NFKC leaves alone. U+2039,
// the package's own neutral form, is deliberately not one of them.
func isLessThan(r rune) bool {
	switch r {
	case '<',
		'\uFF1C', // FULLWIDTH LESS-THAN SIGN
		'\uFE64', // SMALL LESS-THAN SIGN
		'\u226E', // NOT LESS-THAN (decomposes to < U+0338)
		'\u2329', // LEFT-POINTING ANGLE BRACKET (decomposes to U+3008)
		'\u3008', // LEFT ANGLE BRACKET
		'\u300A', // LEFT DOUBLE ANGLE BRACKET
		'\u27E8', // MATHEMATICAL LEFT ANGLE BRACKET
		'\u27EA', // MATHEMATICAL LEFT DOUBLE ANGLE BRACKET
		'\u276C', // MEDIUM LEFT-POINTING ANGLE BRACKET ORNAMENT
		'\u276E', // HEAVY LEFT-POINTING ANGLE QUOTATION MARK ORNAMENT
		'\u2770', // HEAVY LEFT-POINTING ANGLE BRACKET ORNAMENT
		'\u29FC', // LEFT-POINTING CURVED ANGLE BRACKET
		'\u02C2', // MODIFIER LETTER LEFT ARROWHEAD
		'\u1438': // CANADIAN SYLLABICS PA
		return true
	}
	return false
}

// isFiller reports whether r is skipped when reading a tag name: white
// space, controls, format and default-ignorable characters, combining
// marks, dashes, connectors, dots, slashes, backslashes and U+FFFD.
func isFiller(r rune) bool {
	if r < utf8.RuneSelf {
		return r <= ' ' || r == 0x7f || r == '-' || r == '_' || r == '.' || r == '/' || r == '\\'
	}
	switch r {
	case '\uFFFD', // a lost character may have been anything
		'\u2212',                                                             // MINUS SIGN
		'\u00B7', '\u2027', '\u30FB', '\uFF65', '\u2022', '\u2219', '\u22C5', // dots
		'\u2044', '\u2215', '\u29F8', '\u29F5', '\u2216', '\uFE68', '\uFF3C': // slashes
		return true
	}
	return r <= 0x9f || unicode.IsSpace(r) || r >= 0xe0000 && r <= 0xe0fff ||
		unicode.In(r, unicode.Z, unicode.Cc, unicode.Cf, unicode.M, unicode.Pd, unicode.Pc,
			unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector)
}

// foldLetter maps r to the ASCII letter it stands for in a tag name, or 0.
// r has already been decomposed (NFKD), so accents are separate marks and
// compatibility forms (fullwidth, mathematical, circled) are ASCII. Beyond
// NFKD it folds case and a few Cyrillic, Greek and small-capital
// homoglyphs of the letters of "tooldata" (a small part of UTS #39).
func foldLetter(r rune) byte {
	r = unicode.ToLower(r)
	if r < utf8.RuneSelf {
		return byte(r)
	}
	switch r {
	case '\u0430', '\u03B1', '\u0251', '\u1D00': // а α ɑ ᴀ
		return 'a'
	case '\u043E', '\u03BF', '\u0585', '\u1D0F': // о ο օ ᴏ
		return 'o'
	case '\u0442', '\u03C4', '\u1D1B': // т τ ᴛ
		return 't'
	case '\u0501', '\u1D05': // ԁ ᴅ
		return 'd'
	case '\u04CF', '\u029F', '\u01C0': // ӏ ʟ ǀ
		return 'l'
	}
	return 0
}

// nameFollows reports whether the units from s[j] on spell boundaryName,
// allowing any fillers before and between the letters and any text after
// it. The match is a prefix match, so "<tool-database" counts; that keeps
// the rule monotone under truncation.
func nameFollows(s string, j int) bool {
	k := 0
	// step consumes one decomposed rune; it reports whether the match has
	// been decided and, if so, the outcome.
	step := func(x rune) (decided, ok bool) {
		if isFiller(x) {
			return false, false
		}
		if foldLetter(x) != boundaryName[k] {
			return true, false
		}
		k++
		return k == len(boundaryName), true
	}
	for j < len(s) {
		text, n := unitAt(s, j)
		for off := 0; off < len(text); {
			r, size := utf8.DecodeRuneInString(text[off:])
			if r < utf8.RuneSelf {
				if decided, ok := step(r); decided {
					return ok
				}
			} else {
				for _, x := range norm.NFKD.String(text[off : off+size]) {
					if decided, ok := step(x); decided {
						return ok
					}
				}
			}
			off += size
		}
		j += n
	}
	return false
}
