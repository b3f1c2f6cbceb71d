package sqlite_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/crm"
	"github.com/crm-mcp/crm-mcp/internal/crm/store/sqlite"
	"github.com/crm-mcp/crm-mcp/internal/crm/store/storetest"
)

func open(t *testing.T, now func() time.Time) crm.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "crm.db"), sqlite.Options{Now: now})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, open)
}

func TestOpenIsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crm.db")
	for i := range 3 {
		s, err := sqlite.Open(t.Context(), path, sqlite.Options{})
		if err != nil {
			t.Fatalf("Open #%d: %v", i, err)
		}
		if i == 0 {
			if _, err := s.CreateTenant(t.Context(), crm.Tenant{ID: "tnt_kept", Name: "Kept"}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.GetTenant(t.Context(), "tnt_kept"); err != nil {
			t.Fatalf("Open #%d lost data: %v", i, err)
		}
		if err := s.Ping(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMemory(t *testing.T) {
	s, err := sqlite.Open(t.Context(), ":memory:", sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tn, err := s.CreateTenant(t.Context(), crm.Tenant{Name: "Mem"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.CreatePerson(t.Context(), tn.ID, crm.Person{Kind: crm.KindCandidate, FirstName: "Ada", Skills: []string{"Go"}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.SearchPeople(t.Context(), tn.ID, crm.PeopleQuery{Text: "ada", Skills: []string{"go"}})
	if err != nil || res.Total != 1 || res.IDs[0] != p.ID {
		t.Fatalf("SearchPeople = %+v, %v", res, err)
	}
}

func TestClosedStoreIsUnavailable(t *testing.T) {
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "crm.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := s.GetPerson(t.Context(), "tnt_x", "per_x"); !errors.Is(err, crm.ErrUnavailable) {
		t.Fatalf("GetPerson on a closed store: %v, want ErrUnavailable", err)
	}
	if err := s.Ping(t.Context()); !errors.Is(err, crm.ErrUnavailable) {
		t.Fatalf("Ping on a closed store: %v", err)
	}
}
