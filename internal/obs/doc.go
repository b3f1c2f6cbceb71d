// Package obs holds what every request passes through for operability:
// request ids, the structured logger that carries them, the access log and
// panic recovery. It never logs query strings, headers with credentials,
// bodies or panic values, since those can hold tokens and PII.
package obs
