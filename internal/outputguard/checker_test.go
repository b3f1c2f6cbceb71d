package outputguard_test

import (
	"html"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// This file holds the independent checker the tests judge Sanitize and
// Wrap by. It shares no code with the package: it decodes with the
// standard library and regular expressions, normalises with NFKC (the
// package uses per-rune NFKD), and then searches for the boundary tag
// names, following the invariant of security catalog §N.

// checkViews returns s as the model might read it: verbatim and with one
// layer of HTML character references, JSON/JavaScript escapes or ASCII
// percent escapes decoded.
func checkViews(s string) []string {
	return []string{s, html.UnescapeString(s), unescapeBackslash(s), unescapePercent(s)}
}

var backslashEscape = regexp.MustCompile(`\\(?:u\{([0-9a-fA-F]{1,6})\}|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|x([0-9a-fA-F]{2})|/)`)

func unescapeBackslash(s string) string {
	return backslashEscape.ReplaceAllStringFunc(s, func(m string) string {
		sub := backslashEscape.FindStringSubmatch(m)
		for _, h := range sub[1:] {
			if h == "" {
				continue
			}
			v, err := strconv.ParseUint(h, 16, 32)
			if err != nil || v > unicode.MaxRune {
				return "\uFFFD"
			}
			return string(rune(v))
		}
		return "/"
	})
}

var percentEscape = regexp.MustCompile(`%[0-7][0-9a-fA-F]`)

func unescapePercent(s string) string {
	return percentEscape.ReplaceAllStringFunc(s, func(m string) string {
		v, _ := strconv.ParseUint(m[1:], 16, 8)
		return string(rune(v))
	})
}

// foldForCheck applies NFKC and lower-casing and removes white space,
// controls, format and default-ignorable characters, combining marks,
// dashes, connector punctuation, dots and the minus sign.
func foldForCheck(s string) string {
	s = strings.ToLower(norm.NFKC.String(s))
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '.' || r == '\u2212' || r >= 0xe0000 && r <= 0xe0fff ||
			unicode.In(r, unicode.Z, unicode.Cc, unicode.Cf, unicode.Mn, unicode.Me, unicode.Pd, unicode.Pc,
				unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector) {
			return -1
		}
		return r
	}, s)
}

// boundaryTagCounts returns the largest number of opening and of closing
// boundary tags that any view of s contains.
func boundaryTagCounts(s string) (open, closing int) {
	for _, v := range checkViews(s) {
		f := foldForCheck(v)
		open = max(open, strings.Count(f, "<tooldata"))
		closing = max(closing, strings.Count(f, "</tooldata"))
	}
	return open, closing
}

// containsBoundaryTag reports whether any view of s contains something
// that reads as an opening or closing boundary tag.
func containsBoundaryTag(s string) bool {
	open, closing := boundaryTagCounts(s)
	return open+closing > 0
}

// hiddenRune reports whether r should never survive Sanitize: a control
// other than newline and tab, or an invisible character outside the
// contexts the package documents as ordinary text (ZWJ, ZWNJ and the
// emoji/text presentation selectors).
func hiddenRune(r rune) bool {
	switch r {
	case '\n', '\t', '\u200C', '\u200D', '\uFE0E', '\uFE0F':
		return false
	}
	return r >= 0xe0000 && r <= 0xe0fff ||
		unicode.In(r, unicode.Cc, unicode.Cf, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector)
}
