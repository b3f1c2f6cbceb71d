package ratelimit

import (
	"sync"
	"time"
)

// memory is the per-process fixed-window limiter used without Redis or
// while Redis is unreachable. It holds at most max keys in a segmented LRU:
// a key enters the probation segment; a key charged again in the same
// window moves to the protected segment (at most 80% of max). When full,
// expired entries are pruned (at most one full sweep per second) and then
// the probation segment's least recently used entry is evicted; the
// protected segment gives up its oldest entry only when probation is
// empty. A flood of new keys, each seen once, therefore churns probation
// and cannot evict a hot (attacker's) key, whose count would otherwise
// restart from zero.
type memory struct {
	mu        sync.Mutex
	max       int
	maxProt   int
	entries   map[[16]byte]*entry
	probation list
	protected list
	lastSweep time.Time
}

type entry struct {
	key        [16]byte
	start      int64 // window start, unix ms
	window     int64 // ms
	count      int64
	protected  bool
	prev, next *entry
}

func newMemory(max int) *memory {
	return &memory{
		max:     max,
		maxProt: max - max/5,
		entries: make(map[[16]byte]*entry, min(max, 1024)),
	}
}

func (m *memory) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

// allow is Limiter.Allow on this process's counters. Windows are aligned to
// the Unix epoch like Redis's, on this host's clock.
func (m *memory) allow(p Policy, key [16]byte, cost int64, now time.Time) Decision {
	win := max(p.Window.Milliseconds(), 1)
	ms := now.UnixMilli()
	start := ms - ms%win
	reset := time.Duration(start+win-ms) * time.Millisecond

	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.entries[key]
	if e != nil && (e.start != start || e.window != win) {
		e.start, e.window, e.count = start, win, 0 // a new window
	}
	count := int64(0)
	if e != nil {
		count = e.count
	}
	if count+cost > p.Limit {
		if e != nil {
			m.touch(e)
		}
		return Decision{Policy: p, Remaining: max(p.Limit-count, 0), Reset: reset, Backend: BackendMemory}
	}
	if e == nil {
		e = m.insert(key, now)
		e.start, e.window = start, win
	} else {
		m.touch(e)
	}
	e.count += cost
	return Decision{Allowed: true, Policy: p, Remaining: p.Limit - e.count, Reset: reset, Backend: BackendMemory}
}

// touch records a use: a probation entry with a count is promoted.
func (m *memory) touch(e *entry) {
	if e.protected {
		m.protected.moveToFront(e)
		return
	}
	if e.count == 0 {
		m.probation.moveToFront(e)
		return
	}
	m.probation.remove(e)
	e.protected = true
	m.protected.pushFront(e)
	for m.protected.n > m.maxProt {
		old := m.protected.back()
		m.protected.remove(old)
		old.protected = false
		m.probation.pushFront(old)
	}
}

// insert adds a new probation entry, making room first.
func (m *memory) insert(key [16]byte, now time.Time) *entry {
	if len(m.entries) >= m.max {
		if now.Sub(m.lastSweep) >= time.Second {
			m.lastSweep = now
			m.prune(now.UnixMilli())
		}
		for len(m.entries) >= m.max {
			victim := m.probation.back()
			if victim == nil {
				victim = m.protected.back()
			}
			m.drop(victim)
		}
	}
	e := &entry{key: key}
	m.entries[key] = e
	m.probation.pushFront(e)
	return e
}

// prune drops every entry whose window has ended.
func (m *memory) prune(nowMS int64) {
	for _, e := range m.entries {
		if e.start+e.window <= nowMS {
			m.drop(e)
		}
	}
}

func (m *memory) drop(e *entry) {
	if e.protected {
		m.protected.remove(e)
	} else {
		m.probation.remove(e)
	}
	delete(m.entries, e.key)
}

// list is an intrusive doubly linked list, most recent first.
type list struct {
	head, tail *entry
	n          int
}

func (l *list) pushFront(e *entry) {
	e.prev, e.next = nil, l.head
	if l.head != nil {
		l.head.prev = e
	}
	l.head = e
	if l.tail == nil {
		l.tail = e
	}
	l.n++
}

func (l *list) remove(e *entry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		l.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		l.tail = e.prev
	}
	e.prev, e.next = nil, nil
	l.n--
}

func (l *list) moveToFront(e *entry) {
	if l.head == e {
		return
	}
	l.remove(e)
	l.pushFront(e)
}

func (l *list) back() *entry { return l.tail }
