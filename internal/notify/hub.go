package notify

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// Defaults of [HubOptions].
const (
	DefaultMaxPerUser = 5
	DefaultMaxStreams = 10_000
)

var (
	// ErrUserLimit means the user already holds MaxPerUser streams on this
	// instance (answer 429 with Retry-After).
	ErrUserLimit = errors.New("notify: per-user stream limit reached")
	// ErrGlobalLimit means the instance holds MaxStreams streams (answer
	// 503 with Retry-After: another instance may have room).
	ErrGlobalLimit = errors.New("notify: instance stream limit reached")
	// ErrClosed means the hub is shutting down (answer 503 with
	// Retry-After).
	ErrClosed = errors.New("notify: hub closed")
)

// HubOptions configures a [Hub].
type HubOptions struct {
	// MaxPerUser caps the streams one user (tenant and user id) holds on
	// this instance. If zero, defaults to DefaultMaxPerUser.
	MaxPerUser int
	// MaxStreams caps the streams of this instance, to keep file
	// descriptors and memory bounded. If zero, defaults to
	// DefaultMaxStreams.
	MaxStreams int
}

// Hub is the registry of this instance's open streams. It is safe for
// concurrent use.
type Hub struct {
	maxUser, maxAll int

	mu       sync.Mutex
	closed   bool
	active   int
	perUser  map[userKey]int
	byTenant map[string]map[*Stream]struct{}
	idle     chan struct{} // closed when closed && active == 0

	closing chan struct{} // closed by Shutdown; shared by every stream
}

type userKey struct{ tenant, user string }

// NewHub returns an empty hub.
func NewHub(opts HubOptions) *Hub {
	if opts.MaxPerUser <= 0 {
		opts.MaxPerUser = DefaultMaxPerUser
	}
	if opts.MaxStreams <= 0 {
		opts.MaxStreams = DefaultMaxStreams
	}
	return &Hub{
		maxUser:  opts.MaxPerUser,
		maxAll:   opts.MaxStreams,
		perUser:  make(map[userKey]int),
		byTenant: make(map[string]map[*Stream]struct{}),
		idle:     make(chan struct{}),
		closing:  make(chan struct{}),
	}
}

// Stream is one open notification stream's slot in the hub. The stream's
// handler owns it and must call Close on every way out (defer it).
type Stream struct {
	hub     *Hub
	key     userKey
	kinds   Kind
	pending atomic.Uint32 // Kind bits delivered but not yet taken
	wake    chan struct{} // capacity 1: "pending changed"
	closed  atomic.Bool
	hooks   atomic.Pointer[Hooks]
}

// Hooks let a stream without a goroutine of its own (one whose connection
// is driven by timers) hear what Wake and Closing signal. Both functions
// run on the hub's goroutines under its lock: they must not block (start a
// goroutine) and may be called more than once.
type Hooks struct {
	Wake    func() // notifications are pending
	Closing func() // the hub is shutting down
}

// SetHooks installs h. What happened before is replayed: pending
// notifications call Wake, a shutdown already under way calls Closing.
func (s *Stream) SetHooks(h Hooks) {
	s.hooks.Store(&h)
	if s.pending.Load() != 0 && h.Wake != nil {
		h.Wake()
	}
	select {
	case <-s.hub.closing:
		if h.Closing != nil {
			h.Closing()
		}
	default:
	}
}

// Open takes a slot for a stream of user in tenant that wants the
// notification types kinds. It fails with ErrClosed, ErrGlobalLimit or
// ErrUserLimit, checked in that order.
func (h *Hub) Open(tenantID, userID string, kinds Kind) (*Stream, error) {
	key := userKey{tenantID, userID}
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return nil, ErrClosed
	case h.active >= h.maxAll:
		return nil, ErrGlobalLimit
	case h.perUser[key] >= h.maxUser:
		return nil, ErrUserLimit
	}
	s := &Stream{hub: h, key: key, kinds: kinds & kindAll, wake: make(chan struct{}, 1)}
	h.active++
	h.perUser[key]++
	set := h.byTenant[tenantID]
	if set == nil {
		set = make(map[*Stream]struct{})
		h.byTenant[tenantID] = set
	}
	set[s] = struct{}{}
	return s, nil
}

// Close releases the slot. It is idempotent and safe to call concurrently
// with everything else.
func (s *Stream) Close() {
	if s.closed.Swap(true) {
		return
	}
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	h.active--
	if n := h.perUser[s.key] - 1; n > 0 {
		h.perUser[s.key] = n
	} else {
		delete(h.perUser, s.key) // bounded: no entry outlives its streams
	}
	set := h.byTenant[s.key.tenant]
	delete(set, s)
	if len(set) == 0 {
		delete(h.byTenant, s.key.tenant)
	}
	if h.closed && h.active == 0 {
		close(h.idle)
	}
}

// Wake is signalled when notifications are pending; take them with Take.
func (s *Stream) Wake() <-chan struct{} { return s.wake }

// Take returns and clears the pending notification types.
func (s *Stream) Take() Kind { return Kind(s.pending.Swap(0)) }

// Closing is closed when the hub shuts down: the stream should tell its
// client when to reconnect, end, and Close.
func (s *Stream) Closing() <-chan struct{} { return s.hub.closing }

// Kinds are the notification types the stream asked for.
func (s *Stream) Kinds() Kind { return s.kinds }

// Deliver wakes the streams of tenantID (every stream when tenantID is "")
// that asked for any type in k. It never blocks: notifications of one type
// pending on a stream coalesce into one.
func (h *Hub) Deliver(tenantID string, k Kind) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if tenantID == "" {
		for _, set := range h.byTenant {
			wakeAll(set, k)
		}
		return
	}
	wakeAll(h.byTenant[tenantID], k)
}

func wakeAll(set map[*Stream]struct{}, k Kind) {
	for s := range set {
		want := s.kinds & k
		if want == 0 {
			continue
		}
		for {
			old := s.pending.Load()
			if s.pending.CompareAndSwap(old, old|uint32(want)) {
				break
			}
		}
		select {
		case s.wake <- struct{}{}:
		default: // already signalled
		}
		if h := s.hooks.Load(); h != nil && h.Wake != nil {
			h.Wake()
		}
	}
}

// Active returns the number of open streams.
func (h *Hub) Active() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.active
}

// UserActive returns the number of open streams of one user.
func (h *Hub) UserActive(tenantID, userID string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.perUser[userKey{tenantID, userID}]
}

// Shutdown refuses new streams, signals every open one to end (see
// [Stream.Closing]) and waits until all have closed or ctx ends. It is
// idempotent.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		close(h.closing)
		for _, set := range h.byTenant {
			for s := range set {
				if hk := s.hooks.Load(); hk != nil && hk.Closing != nil {
					hk.Closing()
				}
			}
		}
		if h.active == 0 {
			close(h.idle)
		}
	}
	h.mu.Unlock()
	select {
	case <-h.idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
