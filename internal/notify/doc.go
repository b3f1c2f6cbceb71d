// Package notify carries change notifications (today: the tool list changed)
// to the clients holding a notification stream open on /mcp.
//
// A [Hub] is the per-instance registry of open streams: it enforces the
// per-user and per-instance caps, wakes the streams an event concerns (only
// those of the event's tenant, or all for a global event) and, on shutdown,
// tells every stream to end and waits for them. A [Bus] carries events
// between instances: [Local] within one process (memory mode), [RedisBus]
// through Redis pub/sub so that an event published on any instance reaches
// the matching streams on every instance.
//
// Events are hints, not data: a stream never carries tenant data, only "the
// list changed, fetch it again". Delivery is at most once and coalesced; a
// client that was disconnected gets a list_changed on reconnect anyway.
package notify
