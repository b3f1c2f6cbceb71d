package cimd_test

import (
	"errors"
	"net"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"reflect"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/cimd"
)

func TestFetchRefusesForbiddenAddresses(t *testing.T) {
	tests := []struct {
		name  string
		addrs []netip.Addr
	}{
		{"RFC 1918 10/8", addrs("10.0.0.1")},
		{"RFC 1918 192.168/16", addrs("192.168.1.1")},
		{"RFC 1918 172.16/12", addrs("172.16.0.1")},
		{"cloud metadata", addrs("169.254.169.254")},
		{"IPv4 loopback", addrs("127.0.0.1")},
		{"IPv6 loopback", addrs("::1")},
		{"IPv6 link-local", addrs("fe80::1")},
		{"IPv6 ULA", addrs("fc00::1")},
		{"IPv6 ULA fd", addrs("fd12:3456::1")},
		{"CGNAT", addrs("100.64.0.1")},
		{"unspecified v4", addrs("0.0.0.0")},
		{"this network", addrs("0.1.2.3")},
		{"unspecified v6", addrs("::")},
		{"IPv4-mapped loopback", addrs("::ffff:127.0.0.1")},
		{"IPv4-mapped metadata", addrs("::ffff:169.254.169.254")},
		{"NAT64 of private", addrs("64:ff9b::a00:1")},
		{"6to4 of loopback", addrs("2002:7f00:1::1")},
		{"broadcast", addrs("255.255.255.255")},
		{"multicast", addrs("224.0.0.1")},
		{"IPv6 multicast", addrs("ff02::1")},
		{"public then private", addrs("93.184.215.14", "10.0.0.1")},
		{"private then public", addrs("192.168.1.1", "2606:4700::1111")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tf := newTestFetcher(t, func(o *cimd.Options) {
				o.AllowAddrs = nil
				o.Resolver = &fakeResolver{hosts: map[string][]netip.Addr{"evil.test": tt.addrs}}
			})
			_, err := tf.Fetch(t.Context(), "https://evil.test/client.json")
			if !errors.Is(err, cimd.ErrForbiddenAddress) {
				t.Fatalf("Fetch err = %v, want ErrForbiddenAddress", err)
			}
			if d := tf.Dials(); len(d) != 0 {
				t.Errorf("dial attempts = %v, want none", d)
			}
		})
	}
}

// TestFetchRefusesLoopbackWithoutAllowList checks that a live loopback
// server is not reachable by default: zero accepted connections.
func TestFetchRefusesLoopbackWithoutAllowList(t *testing.T) {
	var srv *docServer
	srv = newDocServer(t, serveValid(&srv))
	tf := newTestFetcher(t, func(o *cimd.Options) { o.AllowAddrs = nil })
	_, err := tf.Fetch(t.Context(), srv.ID("/client.json"))
	if !errors.Is(err, cimd.ErrForbiddenAddress) {
		t.Fatalf("Fetch err = %v, want ErrForbiddenAddress", err)
	}
	if srv.Hits() != 0 || len(tf.Dials()) != 0 {
		t.Errorf("server hits %d, dials %v; want none", srv.Hits(), tf.Dials())
	}
}

func TestFetchRefusesLiteralIPs(t *testing.T) {
	tf := newTestFetcher(t, func(o *cimd.Options) { o.AllowAddrs = nil })
	for _, id := range []string{
		"https://127.0.0.1/x", "https://[::1]/x", "https://169.254.169.254/latest/meta-data/",
		"https://[::ffff:7f00:1]/x", "https://0x7f.1/x", "https://2130706433/x", "https://017700000001/x",
		"https://localhost/x", "https://a.localhost/x",
	} {
		if _, err := tf.Fetch(t.Context(), id); !errors.Is(err, cimd.ErrInvalidClientID) {
			t.Errorf("Fetch(%q) err = %v, want ErrInvalidClientID", id, err)
		}
	}
	if tf.resolver.Calls() != 0 || len(tf.Dials()) != 0 {
		t.Errorf("resolver calls %d, dials %v; want none", tf.resolver.Calls(), tf.Dials())
	}
}

func TestFetchResolverFailure(t *testing.T) {
	tf := newTestFetcher(t, nil)
	_, err := tf.Fetch(t.Context(), "https://unknown.test/c")
	if !errors.Is(err, cimd.ErrFetch) {
		t.Fatalf("Fetch err = %v, want ErrFetch", err)
	}
	tf2 := newTestFetcher(t, func(o *cimd.Options) {
		o.Resolver = &fakeResolver{hosts: map[string][]netip.Addr{"empty.test": nil}}
	})
	if _, err := tf2.Fetch(t.Context(), "https://empty.test/c"); !errors.Is(err, cimd.ErrFetch) {
		t.Fatalf("Fetch with empty answer: err = %v, want ErrFetch", err)
	}
}

// TestDNSRebinding: the first answer is an allowed address, every later
// answer is loopback. The fetch must connect to the vetted address only,
// without a second lookup, and a later fetch that sees the rebound answer
// must be refused before dialing.
func TestDNSRebinding(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.2: %v", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	id := "https://rebind.test:" + strconv.Itoa(port) + "/client.json"
	srv := httptest.NewUnstartedServer(serveJSON(validDoc(id, nil)))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	defer srv.Close()

	// A decoy on 127.0.0.1 at the same port would receive the connection
	// if the dialer resolved again.
	var decoyAccepts atomic.Int64
	if decoy, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
		defer decoy.Close()
		go func() {
			for {
				c, err := decoy.Accept()
				if err != nil {
					return
				}
				decoyAccepts.Add(1)
				c.Close()
			}
		}()
	}
	res := &fakeResolver{next: func(n int, _ string) []netip.Addr {
		if n == 1 {
			return addrs("127.0.0.2")
		}
		return addrs("127.0.0.1")
	}}
	tf := newTestFetcher(t, func(o *cimd.Options) {
		o.Resolver = res
		o.AllowAddrs = []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}
	})
	if _, err := tf.Fetch(t.Context(), id); err != nil {
		t.Fatalf("first Fetch: %v", err)
	}
	want := []string{"127.0.0.2:" + strconv.Itoa(port)}
	if !reflect.DeepEqual(tf.Dials(), want) || res.Calls() != 1 {
		t.Fatalf("dials %v (want %v), lookups %d (want 1)", tf.Dials(), want, res.Calls())
	}

	tf.clock.Advance(cimd.DefaultMaxCacheTTL + time.Second)
	if _, err := tf.Fetch(t.Context(), id); !errors.Is(err, cimd.ErrForbiddenAddress) {
		t.Fatalf("Fetch after rebinding: err = %v, want ErrForbiddenAddress", err)
	}
	if !reflect.DeepEqual(tf.Dials(), want) {
		t.Errorf("dials after rebinding = %v, want %v", tf.Dials(), want)
	}
	if n := decoyAccepts.Load(); n != 0 {
		t.Errorf("decoy on 127.0.0.1 accepted %d connections, want 0", n)
	}
}

// TestDialerDefenseInDepth exercises the transport's dialer directly:
// without a vetted target, or with a target that does not match, it
// refuses; its Control hook refuses forbidden socket addresses even if
// they were somehow "vetted".
func TestDialerDefenseInDepth(t *testing.T) {
	var srv *docServer
	srv = newDocServer(t, serveValid(&srv))
	u, _ := url.Parse(srv.URL)

	strict := newTestFetcher(t, func(o *cimd.Options) { o.AllowAddrs = nil })
	if _, err := cimd.DialUnvetted(t.Context(), strict.Fetcher, u.Host); !errors.Is(err, cimd.ErrForbiddenAddress) {
		t.Errorf("dial without target: err = %v, want ErrForbiddenAddress", err)
	}
	if _, err := cimd.DialVetted(t.Context(), strict.Fetcher, "other.test:"+u.Port(), "client.test", u.Port(), addrs("127.0.0.1")); !errors.Is(err, cimd.ErrForbiddenAddress) {
		t.Errorf("dial of another host: err = %v, want ErrForbiddenAddress", err)
	}
	// A target that wrongly lists loopback is still stopped by Control.
	if c, err := cimd.DialVetted(t.Context(), strict.Fetcher, "client.test:"+u.Port(), "client.test", u.Port(), addrs("127.0.0.1")); !errors.Is(err, cimd.ErrForbiddenAddress) {
		if c != nil {
			c.Close()
		}
		t.Errorf("dial of unvetted loopback: err = %v, want ErrForbiddenAddress", err)
	}
	if srv.Hits() != 0 {
		t.Errorf("server hits = %d, want 0", srv.Hits())
	}

	tests := []struct {
		addr    string
		allowed bool
	}{
		{"10.0.0.1:443", false},
		{"169.254.169.254:80", false},
		{"[::1]:443", false},
		{"[::ffff:127.0.0.1]:443", false},
		{"not-an-address", false},
		{"93.184.215.14:443", true},
		{"[2606:4700::1111]:443", true},
	}
	for _, tt := range tests {
		err := cimd.CheckDial(strict.Fetcher, tt.addr)
		if tt.allowed != (err == nil) || (err != nil && !errors.Is(err, cimd.ErrForbiddenAddress)) {
			t.Errorf("Control(%q) = %v, want allowed=%v", tt.addr, err, tt.allowed)
		}
	}
	loose := newTestFetcher(t, nil) // 127.0.0.0/8 allow-listed
	if err := cimd.CheckDial(loose.Fetcher, "127.0.0.1:80"); err != nil {
		t.Errorf("Control with allow-list: %v", err)
	}
}

func TestIsForbidden(t *testing.T) {
	tests := []struct {
		addr      string
		forbidden bool
	}{
		{"1.1.1.1", false},
		{"93.184.215.14", false},
		{"2606:4700::1111", false},
		{"::ffff:1.1.1.1", false},
		{"64:ff9b::101:101", false}, // NAT64 of 1.1.1.1
		{"2002:101:101::1", false},  // 6to4 of 1.1.1.1

		{"0.0.0.0", true},
		{"0.255.255.255", true},
		{"10.255.255.255", true},
		{"100.64.0.1", true},
		{"100.127.255.255", true},
		{"127.0.0.1", true},
		{"127.255.255.254", true},
		{"169.254.169.254", true},
		{"172.16.0.1", true},
		{"172.31.255.255", true},
		{"192.0.0.170", true},
		{"192.0.2.1", true},
		{"192.168.1.1", true},
		{"198.18.0.1", true},
		{"198.51.100.1", true},
		{"203.0.113.1", true},
		{"224.0.0.1", true},
		{"239.255.255.250", true},
		{"240.0.0.1", true},
		{"255.255.255.255", true},
		{"::", true},
		{"::1", true},
		{"::127.0.0.1", true},
		{"::ffff:10.0.0.1", true},
		{"::ffff:0:a00:1", true},
		{"64:ff9b::a9fe:a9fe", true}, // NAT64 of 169.254.169.254
		{"64:ff9b:1::1", true},
		{"100::1", true},
		{"2001::1", true}, // Teredo
		{"2001:db8::1", true},
		{"2002:a00:1::1", true}, // 6to4 of 10.0.0.1
		{"fc00::1", true},
		{"fdff::1", true},
		{"fe80::1", true},
		{"fe80::1%eth0", true},
		{"fec0::1", true},
		{"ff02::1", true},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if got := cimd.IsForbidden(netip.MustParseAddr(tt.addr)); got != tt.forbidden {
				t.Errorf("IsForbidden(%s) = %v, want %v", tt.addr, got, tt.forbidden)
			}
		})
	}
	if !cimd.IsForbidden(netip.Addr{}) {
		t.Error("IsForbidden(zero Addr) = false, want true")
	}
}
