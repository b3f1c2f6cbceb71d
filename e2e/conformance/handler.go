package conformance

import (
	"log/slog"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/crm-mcp/crm-mcp/internal/mcpserver"
)

// NewHandler builds the /mcp handler the suite runs against: the product's
// guarded stateless transport (loopback only, as for a local server) with
// the fixtures registered.
func NewHandler(logger *slog.Logger) (*mcpserver.Server, error) {
	// Fixtures run only once the handler serves, after srv is set.
	var srv *mcpserver.Server
	update := func(change func(*mcp.Server)) { srv.UpdateTools(change) }
	srv, err := mcpserver.New(mcpserver.Options{
		Implementation: Implementation,
		ServerOptions:  ServerOptions(),
		Register:       func(s *mcp.Server) { RegisterUpdating(s, update) },
		StreamingTools: StreamingTools,
		Guard:          mcpserver.GuardOptions{AllowLoopback: true},
		Logger:         logger,
	})
	return srv, err
}
