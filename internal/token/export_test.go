package token

// DecodeObjectStrict exposes decodeObjectStrict to the black-box tests.
var DecodeObjectStrict = decodeObjectStrict
