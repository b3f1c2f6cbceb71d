package servicetoken

// ParseJWKS exposes parseJWKS to the black-box fuzz test.
var ParseJWKS = parseJWKS
