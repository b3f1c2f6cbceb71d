package notify

import "strings"

// Kind is a set of notification types. The zero Kind is the empty set.
type Kind uint8

const (
	// ToolsListChanged is "notifications/tools/list_changed".
	ToolsListChanged Kind = 1 << iota
	// PromptsListChanged is "notifications/prompts/list_changed".
	PromptsListChanged
	// ResourcesListChanged is "notifications/resources/list_changed".
	ResourcesListChanged

	kindAll = ToolsListChanged | PromptsListChanged | ResourcesListChanged
)

var kindNames = []struct {
	k            Kind
	name, method string
}{
	{ToolsListChanged, "tools", "notifications/tools/list_changed"},
	{PromptsListChanged, "prompts", "notifications/prompts/list_changed"},
	{ResourcesListChanged, "resources", "notifications/resources/list_changed"},
}

// Has reports whether every type in o is in k.
func (k Kind) Has(o Kind) bool { return k&o == o }

// Methods returns the JSON-RPC notification methods of k, in a fixed order.
func (k Kind) Methods() []string {
	var out []string
	for _, n := range kindNames {
		if k.Has(n.k) {
			out = append(out, n.method)
		}
	}
	return out
}

// String names the types of k, e.g. "tools,prompts".
func (k Kind) String() string {
	var names []string
	for _, n := range kindNames {
		if k.Has(n.k) {
			names = append(names, n.name)
		}
	}
	return strings.Join(names, ",")
}

// parseKind is the inverse of String; unknown names are ignored, so a newer
// instance publishing a type an older one does not know is harmless.
func parseKind(s string) Kind {
	var k Kind
	for part := range strings.SplitSeq(s, ",") {
		for _, n := range kindNames {
			if part == n.name {
				k |= n.k
			}
		}
	}
	return k
}
