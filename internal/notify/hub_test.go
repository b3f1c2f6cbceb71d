package notify_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/notify"
)

func TestHubCaps(t *testing.T) {
	h := notify.NewHub(notify.HubOptions{MaxPerUser: 2, MaxStreams: 3})
	a1, err1 := h.Open("t1", "alice", notify.ToolsListChanged)
	_, err2 := h.Open("t1", "alice", notify.ToolsListChanged)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if _, err := h.Open("t1", "alice", notify.ToolsListChanged); !errors.Is(err, notify.ErrUserLimit) {
		t.Errorf("third stream of one user: %v, want ErrUserLimit", err)
	}
	// The same user id in another tenant is another user.
	if _, err := h.Open("t2", "alice", notify.ToolsListChanged); err != nil {
		t.Errorf("other tenant's alice: %v", err)
	}
	if _, err := h.Open("t1", "bob", notify.ToolsListChanged); !errors.Is(err, notify.ErrGlobalLimit) {
		t.Errorf("stream over the instance cap: %v, want ErrGlobalLimit", err)
	}
	a1.Close()
	a1.Close() // idempotent: must not free a second slot
	if h.Active() != 2 || h.UserActive("t1", "alice") != 1 {
		t.Errorf("after close: active %d, alice %d", h.Active(), h.UserActive("t1", "alice"))
	}
	if _, err := h.Open("t1", "bob", notify.ToolsListChanged); err != nil {
		t.Errorf("slot not reusable after close: %v", err)
	}
}

func TestHubDeliverScopedAndCoalesced(t *testing.T) {
	h := notify.NewHub(notify.HubOptions{})
	acme, _ := h.Open("acme", "u", notify.ToolsListChanged)
	globex, _ := h.Open("globex", "u", notify.ToolsListChanged)
	prompts, _ := h.Open("acme", "v", notify.PromptsListChanged)
	for range 3 {
		h.Deliver("acme", notify.ToolsListChanged) // coalesces, never blocks
	}
	select {
	case <-acme.Wake():
	default:
		t.Fatal("acme stream not woken")
	}
	if k := acme.Take(); k != notify.ToolsListChanged {
		t.Errorf("acme pending %v", k)
	}
	if k := acme.Take(); k != 0 {
		t.Errorf("pending not cleared: %v", k)
	}
	select {
	case <-globex.Wake():
		t.Fatal("globex woken by acme's event")
	case <-prompts.Wake():
		t.Fatal("a prompts-only stream woken by a tools event")
	default:
	}
	h.Deliver("", notify.ToolsListChanged|notify.PromptsListChanged)
	if globex.Take() != notify.ToolsListChanged || prompts.Take() != notify.PromptsListChanged {
		t.Error("global event: each stream gets exactly the types it asked for")
	}
}

func TestHubShutdown(t *testing.T) {
	h := notify.NewHub(notify.HubOptions{})
	var wg sync.WaitGroup
	for i := range 10 {
		s, err := h.Open("t", string(rune('a'+i)), notify.ToolsListChanged)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() { // a stream handler: ends when told
			defer wg.Done()
			<-s.Closing()
			time.Sleep(10 * time.Millisecond)
			s.Close()
		}()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.Shutdown(ctx); err != nil || h.Active() != 0 {
		t.Fatalf("Shutdown: %v, active %d", err, h.Active())
	}
	wg.Wait()
	if _, err := h.Open("t", "late", notify.ToolsListChanged); !errors.Is(err, notify.ErrClosed) {
		t.Errorf("open after shutdown: %v", err)
	}
	if err := h.Shutdown(ctx); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
	// A stream that never ends is bounded by ctx.
	h2 := notify.NewHub(notify.HubOptions{})
	_, _ = h2.Open("t", "stuck", notify.ToolsListChanged)
	short, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if err := h2.Shutdown(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown with a stuck stream: %v", err)
	}
}

func TestKindMethods(t *testing.T) {
	k := notify.ToolsListChanged | notify.ResourcesListChanged
	got := k.Methods()
	if len(got) != 2 || got[0] != "notifications/tools/list_changed" || got[1] != "notifications/resources/list_changed" || k.String() != "tools,resources" {
		t.Errorf("Methods %v String %q", got, k.String())
	}
}
