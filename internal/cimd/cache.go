package cimd

import (
	"container/list"
	"time"
)

// lru is a bounded least-recently-used cache of fetch results keyed by
// client_id. It is not safe for concurrent use; Fetcher guards it.
type lru struct {
	max   int
	order *list.List // front = most recently used; values are *entry
	items map[string]*list.Element
}

type entry struct {
	key     string
	doc     Document
	err     error
	expires time.Time
}

func newLRU(max int) *lru {
	return &lru{max: max, order: list.New(), items: make(map[string]*list.Element)}
}

// get returns the live entry for key. An expired entry is removed.
func (c *lru) get(key string, now time.Time) (*entry, bool) {
	el, ok := c.items[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*entry)
	if !now.Before(e.expires) {
		c.order.Remove(el)
		delete(c.items, key)
		return nil, false
	}
	c.order.MoveToFront(el)
	return e, true
}

// put stores a result until expires, evicting the least recently used
// entries beyond the bound.
func (c *lru) put(key string, doc Document, err error, expires time.Time) {
	if el, ok := c.items[key]; ok {
		el.Value = &entry{key: key, doc: doc, err: err, expires: expires}
		c.order.MoveToFront(el)
		return
	}
	c.items[key] = c.order.PushFront(&entry{key: key, doc: doc, err: err, expires: expires})
	for c.order.Len() > c.max {
		old := c.order.Back()
		c.order.Remove(old)
		delete(c.items, old.Value.(*entry).key)
	}
}

func (c *lru) len() int { return c.order.Len() }
