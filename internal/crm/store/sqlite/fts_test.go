package sqlite

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crm-mcp/crm-mcp/internal/crm"
)

// TestLocationMatch: a location filter with text becomes an OR of the
// tokens of the tenant's locations that contain it (so FTS5 narrows by
// location before anything is joined), nothing at all when none does,
// and the plain substring test when too many do.
func TestLocationMatch(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "crm.db"), Options{MaintainEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ids := map[string]string{}
	for _, tn := range []string{"tnt_a", "tnt_b"} {
		created, err := s.CreateTenant(ctx, crm.Tenant{Name: tn})
		if err != nil {
			t.Fatal(err)
		}
		ids[tn] = created.ID
	}
	add := func(tenant, location string) {
		t.Helper()
		if _, err := s.CreatePerson(ctx, ids[tenant], crm.Person{Kind: crm.KindCandidate, FirstName: "Ada", Location: location}); err != nil {
			t.Fatal(err)
		}
	}
	add("tnt_a", "Berlin")
	add("tnt_a", "Berlin") // one token per distinct location
	add("tnt_a", "Berlin-Mitte")
	add("tnt_a", "Munich")
	add("tnt_b", "Hamburg")
	for i := range maxLocationTokens + 1 {
		add("tnt_a", fmt.Sprintf("Town %d", i))
	}
	for _, tc := range []struct {
		tenant, sub string
		tokens      int // -1: none; 0: too many
	}{
		{"tnt_a", "berlin", 2},
		{"tnt_a", "mitte", 1},
		{"tnt_a", "hamburg", -1}, // another tenant's location
		{"tnt_b", "hamburg", 1},
		{"tnt_a", "town 1", 11},
		{"tnt_a", "town", 0},
	} {
		var (
			match    string
			none, ok bool
		)
		err := s.read(ctx, "test", func(tx *sql.Tx) (err error) {
			match, none, ok, err = locationMatch(ctx, tx, ids[tc.tenant], tc.sub)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case tc.tokens == -1:
			if !none || ok || match != "" {
				t.Errorf("%s %q: match %q none %v ok %v, want none", tc.tenant, tc.sub, match, none, ok)
			}
		case tc.tokens == 0:
			if none || ok || match != "" {
				t.Errorf("%s %q: match %q none %v ok %v, want the substring test", tc.tenant, tc.sub, match, none, ok)
			}
		default:
			if none || !ok || !strings.HasPrefix(match, "loc : (") || strings.Count(match, "loc") != tc.tokens+1 {
				t.Errorf("%s %q: match %q none %v ok %v, want %d tokens", tc.tenant, tc.sub, match, none, ok, tc.tokens)
			}
		}
	}
}
