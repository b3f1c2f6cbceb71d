package notify

import "context"

// Publisher publishes notification events. Implementations are safe for
// concurrent use.
type Publisher interface {
	// Publish sends k to the streams of tenantID on every instance, or to
	// every stream when tenantID is "". Delivery is at most once; an error
	// means the event may not have left this instance.
	Publish(ctx context.Context, tenantID string, k Kind) error
}

// Bus is a Publisher that can be shut down.
type Bus interface {
	Publisher
	// Close stops delivery from other instances. It is idempotent.
	Close() error
}

// Local is the single-process bus: Publish delivers to the hub directly.
type Local struct{ hub *Hub }

var _ Bus = (*Local)(nil)

// NewLocal returns a bus delivering to hub.
func NewLocal(hub *Hub) *Local { return &Local{hub: hub} }

// Publish implements [Publisher].
func (l *Local) Publish(_ context.Context, tenantID string, k Kind) error {
	l.hub.Deliver(tenantID, k)
	return nil
}

// Close implements [Bus].
func (l *Local) Close() error { return nil }
