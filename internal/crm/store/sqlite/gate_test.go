package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"
)

// waitersBlocked counts goroutines parked in fifoGate.enter.
func waitersBlocked() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		header, _, _ := strings.Cut(g, "\n")
		if strings.Contains(header, "[select") && strings.Contains(g, "fifoGate.enter") {
			n++
		}
	}
	return n
}

func waitForWaiters(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for waitersBlocked() != n {
		if time.Now().After(deadline) {
			t.Fatalf("waiters blocked in the gate: %d, want %d", waitersBlocked(), n)
		}
		runtime.Gosched()
	}
}

// TestFIFOGateOrder: waiters get in in the order they arrived, which
// database/sql's own queue does not promise (it picks a random waiter).
func TestFIFOGateOrder(t *testing.T) {
	g := newFIFOGate(1)
	ctx := t.Context()
	if err := g.enter(ctx); err != nil {
		t.Fatal(err)
	}
	const n = 8
	order := make(chan int, n)
	for i := range n {
		go func() {
			if err := g.enter(ctx); err != nil {
				t.Error(err)
				return
			}
			order <- i
		}()
		waitForWaiters(t, i+1)
	}
	for want := range n {
		g.leave()
		if got := <-order; got != want {
			t.Fatalf("waiter %d got in at turn %d", got, want)
		}
	}
	g.leave()
	if len(g) != 0 {
		t.Fatalf("gate holds %d places after everyone left", len(g))
	}
}

func TestFIFOGateCapacityAndCancel(t *testing.T) {
	g := newFIFOGate(2)
	ctx := t.Context()
	for range 2 {
		if err := g.enter(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Full: a third caller waits until its context ends, and then holds
	// nothing.
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- g.enter(cctx) }()
	waitForWaiters(t, 1)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("enter on a full gate after cancel = %v, want context.Canceled", err)
	}
	if len(g) != 2 {
		t.Fatalf("gate holds %d, want the 2 places taken", len(g))
	}
	// A place given back lets the next caller in at once.
	g.leave()
	if err := g.enter(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestPageCacheBudget: the connections split one page-cache budget
// between them (the cache is one pool for the whole process), so the total
// does not grow or shrink with the number of readers.
func TestPageCacheBudget(t *testing.T) {
	for _, readers := range []int{0, 1, 7} {
		s, err := Open(context.Background(), t.TempDir()+"/crm.db", Options{MaxReaders: readers, MaintainEvery: -1})
		if err != nil {
			t.Fatal(err)
		}
		n := readers
		if n == 0 {
			n = DefaultMaxReaders
		}
		for name, db := range map[string]*sql.DB{"reader": s.r, "writer": s.w} {
			var kib int
			if err := db.QueryRow(`PRAGMA cache_size`).Scan(&kib); err != nil {
				t.Fatal(err)
			}
			if want := -pageCacheKiB / (n + 1); kib != want {
				t.Errorf("MaxReaders %d: %s cache_size %d, want %d", readers, name, kib, want)
			}
		}
		if got := s.r.Stats().MaxOpenConnections; got != n || cap(s.rGate) != n {
			t.Errorf("MaxReaders %d: %d read connections, gate of %d; want %d", readers, got, cap(s.rGate), n)
		}
		s.Close()
	}
}
