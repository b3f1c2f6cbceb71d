package outputguard

import "unicode/utf8"

// Test bridge to unexported helpers (house style R13).
var (
	IsLessThan = isLessThan
	IsFiller   = isFiller
	FoldLetter = foldLetter

	MayBeInvisible = mayBeInvisible
	IsInvisible    = isInvisible
	SanitizePass   = sanitizePass
)

// LeadByteCandidates reports whether the first UTF-8 byte of r is marked
// in the byte tables of stripInvisible and neutralizeTags.
func LeadByteCandidates(r rune) (strip, tag bool) {
	var b [utf8.UTFMax]byte
	utf8.EncodeRune(b[:], r)
	return stripCandidate[b[0]], tagCandidate[b[0]]
}
