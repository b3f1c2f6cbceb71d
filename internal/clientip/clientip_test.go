package clientip_test

import (
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/crm-mcp/crm-mcp/internal/clientip"
)

func TestKey(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:ffff::/48")}
	xff, err := clientip.New(proxies, clientip.XForwardedFor)
	if err != nil {
		t.Fatal(err)
	}
	fwd, err := clientip.New(proxies, clientip.Forwarded)
	if err != nil {
		t.Fatal(err)
	}
	none, _ := clientip.New(nil, "")
	tests := []struct {
		name   string
		res    *clientip.Resolver
		remote string
		header map[string][]string
		want   string
	}{
		{"socket address", xff, "192.0.2.1:5000", nil, "192.0.2.1"},
		{"spoofed XFF from an untrusted peer is ignored", xff, "192.0.2.1:5000", map[string][]string{"X-Forwarded-For": {"198.51.100.7"}}, "192.0.2.1"},
		{"spoofed Forwarded from an untrusted peer is ignored", fwd, "192.0.2.1:5000", map[string][]string{"Forwarded": {"for=198.51.100.7"}}, "192.0.2.1"},
		{"no trusted proxies: header ignored", none, "10.1.1.1:5000", map[string][]string{"X-Forwarded-For": {"198.51.100.7"}}, "10.1.1.1"},
		{"trusted proxy: its client", xff, "10.1.1.1:5000", map[string][]string{"X-Forwarded-For": {"198.51.100.7"}}, "198.51.100.7"},
		{"right-most untrusted hop, forged left part ignored", xff, "10.1.1.1:5000", map[string][]string{"X-Forwarded-For": {"1.2.3.4, 198.51.100.7, 10.2.2.2"}}, "198.51.100.7"},
		{"repeated header lines are one list", xff, "10.1.1.1:5000", map[string][]string{"X-Forwarded-For": {"1.2.3.4", "198.51.100.7"}}, "198.51.100.7"},
		{"all hops trusted: left-most", xff, "10.1.1.1:5000", map[string][]string{"X-Forwarded-For": {"10.3.3.3, 10.2.2.2"}}, "10.3.3.3"},
		{"unknown hop: the proxy that wrote it", xff, "10.1.1.1:5000", map[string][]string{"X-Forwarded-For": {"198.51.100.7, unknown"}}, "10.1.1.1"},
		{"trusted proxy without a header", xff, "10.1.1.1:5000", nil, "10.1.1.1"},
		{"XFF with a port", xff, "10.1.1.1:5000", map[string][]string{"X-Forwarded-For": {"198.51.100.7:4711"}}, "198.51.100.7"},
		{"Forwarded with IPv6 and port", fwd, "10.1.1.1:5000", map[string][]string{"Forwarded": {`for=192.0.2.9, for="[2001:db8:1:2:3::1]:4711";proto=https`}}, "2001:db8:1:2::/64"},
		{"Forwarded configured: XFF ignored", fwd, "10.1.1.1:5000", map[string][]string{"X-Forwarded-For": {"198.51.100.7"}}, "10.1.1.1"},
		{"IPv6 keyed by /64", xff, "[2001:db8:1:2:aaaa::1]:443", nil, "2001:db8:1:2::/64"},
		{"IPv6 same /64 same key", xff, "[2001:db8:1:2:ffff:ffff:ffff:ffff]:443", nil, "2001:db8:1:2::/64"},
		{"IPv4-mapped IPv6 is IPv4", xff, "[::ffff:192.0.2.1]:443", nil, "192.0.2.1"},
		{"trusted IPv6 proxy", xff, "[2001:db8:ffff::5]:443", map[string][]string{"X-Forwarded-For": {"192.0.2.44"}}, "192.0.2.44"},
		{"unparseable socket address", xff, "pipe", nil, "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for k, vs := range tt.header {
				for _, v := range vs {
					r.Header.Add(k, v)
				}
			}
			if got := tt.res.Key(r); got != tt.want {
				t.Errorf("Key = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNewRejectsUnknownHeader(t *testing.T) {
	if _, err := clientip.New(nil, "X-Real-IP"); err == nil {
		t.Error("X-Real-IP accepted")
	}
}

func FuzzKey(f *testing.F) {
	f.Add("1.2.3.4, [2001:db8::1]:80, unknown", "for=\"[::1]\";by=x")
	res, _ := clientip.New([]netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}, clientip.XForwardedFor)
	f.Fuzz(func(t *testing.T, xff, fwd string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "10.0.0.1:1"
		r.Header.Set("X-Forwarded-For", xff)
		r.Header.Set("Forwarded", fwd)
		if res.Key(r) == "" {
			t.Fatal("empty key")
		}
	})
}
