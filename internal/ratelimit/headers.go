package ratelimit

import (
	"net/http"
	"strconv"
	"time"
)

// SetHeaders describes d in h: the RateLimit-Policy and RateLimit fields of
// draft-ietf-httpapi-ratelimit-headers (-10: `"name";q=quota;w=window` and
// `"name";r=remaining;t=reset`, seconds) and, for a refusal, Retry-After
// (RFC 9110 §10.2.3, RFC 6585 §4) in whole seconds, rounded up.
func SetHeaders(h http.Header, d Decision) {
	h.Set("RateLimit-Policy", strconv.Quote(d.Policy.Name)+";q="+strconv.FormatInt(d.Policy.Limit, 10)+";w="+strconv.FormatInt(ceilSeconds(d.Policy.Window), 10))
	h.Set("RateLimit", strconv.Quote(d.Policy.Name)+";r="+strconv.FormatInt(d.Remaining, 10)+";t="+strconv.FormatInt(ceilSeconds(d.Reset), 10))
	if !d.Allowed {
		h.Set("Retry-After", strconv.FormatInt(RetryAfterSeconds(d), 10))
	}
}

// RetryAfterSeconds is d.RetryAfter in whole seconds, rounded up, at least 1.
func RetryAfterSeconds(d Decision) int64 {
	return max(ceilSeconds(d.RetryAfter()), 1)
}

func ceilSeconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}
