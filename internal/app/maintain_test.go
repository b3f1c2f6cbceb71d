package app_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/crm-mcp/crm-mcp/internal/app"
	"github.com/crm-mcp/crm-mcp/internal/crm/store/sqlite"
	"github.com/crm-mcp/crm-mcp/internal/identity"
)

// TestSeedDemoMergesSearchIndexes: the demo seed is a bulk load; it ends
// with the full-text indexes merged, so nothing is left for the upkeep.
func TestSeedDemoMergesSearchIndexes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crm.db")
	st, err := sqlite.Open(ctx, path, sqlite.Options{MaintainEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	res, err := app.SeedDemo(ctx, st, app.SeedOptions{PeoplePerTenant: 150, TenantIDs: []string{"tnt_acme"},
		PasswordParams: identity.Params{Time: 1, Memory: 1024, Threads: 1}})
	if err != nil || len(res.Seeded) != 1 {
		t.Fatalf("seed: %v %v", res.Seeded, err)
	}
	if steps, err := st.MergeSearchIndexes(ctx); err != nil || steps != 0 {
		t.Fatalf("after the seed, a merge did %d steps (%v); want nothing left to merge", steps, err)
	}
}
