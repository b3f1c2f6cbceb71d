package app

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/config"
	"github.com/crm-mcp/crm-mcp/internal/export"
	"github.com/crm-mcp/crm-mcp/internal/state"
	"github.com/crm-mcp/crm-mcp/internal/token"
)

// newExportLinks builds the signed download links of the CSV exports. The
// key is derived from the access-token key ring, so every replica signs
// and verifies alike; the files live in the shared state store, so any
// replica serves a download. Links live 10 minutes: a key rotation
// invalidates at most that much.
func newExportLinks(cfg *config.Config, ring *token.KeyRing, store state.Exports, metadataURL string, now func() time.Time, logger *slog.Logger) (*export.Links, error) {
	return export.NewLinks(export.LinkOptions{
		Key:                 ring.Derive("export-link"),
		Store:               store,
		BaseURL:             cfg.MCPURL() + "/exports",
		ResourceMetadataURL: metadataURL,
		Now:                 now,
		Logger:              logger,
	})
}

// withExports serves the export downloads (GET /mcp/exports/{id}) next to
// the MCP endpoint, behind the same bearer authentication: a download
// needs the token of the user who ran the export.
func withExports(mcpHandler http.Handler, links *export.Links) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(export.Pattern, links)
	mux.Handle("/mcp", mcpHandler)
	return mux
}
