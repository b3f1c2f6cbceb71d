package export

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Guard returns cell with a leading "'" if a spreadsheet could read it as
// a formula (see the package documentation), else cell unchanged.
func Guard(cell string) string {
	if formulaLike(cell) {
		return "'" + cell
	}
	return cell
}

// formulaLike reports whether cell starts, after blanks, with a formula
// trigger.
func formulaLike(cell string) bool {
	for _, r := range cell {
		switch r {
		case '=', '+', '-', '@', '\t', '\r', '\n', 0, '\u2212':
			return true
		}
		if r >= utf8.RuneSelf && triggerFold(r) {
			return true
		}
		if !blank(r) {
			return false
		}
	}
	return false
}

// triggerFold reports whether r's NFKC form starts with a trigger: the
// full-width ＝ ＋ － ＠, the small forms ﹦ ﹢ ﹣ ﹫, super- and subscript
// signs.
func triggerFold(r rune) bool {
	var buf [utf8.UTFMax]byte
	n := utf8.EncodeRune(buf[:], r)
	f := norm.NFKC.Bytes(buf[:n])
	return len(f) > 0 && strings.IndexByte("=+-@", f[0]) >= 0
}

// blank reports whether r is white space or an invisible format
// character, which some consumers trim before reading a cell.
func blank(r rune) bool {
	return unicode.IsSpace(r) || unicode.In(r, unicode.Zs, unicode.Cf, unicode.Other_Default_Ignorable_Code_Point)
}

// needsQuotes reports whether field must be quoted: RFC 4180 §2.6 (comma,
// quote, CR, LF), plus ";" and tab (other locales' separators) and edge
// spaces (which some readers trim).
func needsQuotes(field string) bool {
	if field == "" {
		return false
	}
	if field[0] == ' ' || field[len(field)-1] == ' ' {
		return true
	}
	return strings.ContainsAny(field, ",\";\t\r\n")
}

// AppendRecord appends one CSV record (RFC 4180 §2) of cells to dst: each
// cell guarded with Guard and quoted when needed, separated by commas,
// ended by CRLF. Cells are written byte for byte otherwise.
func AppendRecord(dst []byte, cells []string) []byte {
	for i, c := range cells {
		if i > 0 {
			dst = append(dst, ',')
		}
		c = Guard(c)
		if !needsQuotes(c) && (c != "" || len(cells) > 1) {
			// (A record of one empty field is written "" so that it is
			// not an empty line, which readers skip.)
			dst = append(dst, c...)
			continue
		}
		dst = append(dst, '"')
		for {
			j := strings.IndexByte(c, '"')
			if j < 0 {
				break
			}
			dst = append(dst, c[:j+1]...)
			dst = append(dst, '"')
			c = c[j+1:]
		}
		dst = append(dst, c...)
		dst = append(dst, '"')
	}
	return append(dst, '\r', '\n')
}
