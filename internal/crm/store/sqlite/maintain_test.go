package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/crm"
)

// fragmentedStore returns a store (options as given) with one tenant whose
// people went in over 20 write transactions (20 segments per index) and
// were then half rewritten (tombstones), with companies and jobs likewise.
func fragmentedStore(t *testing.T, opts Options) (*Store, string) {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "crm.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	tn, err := s.CreateTenant(ctx, crm.Tenant{Name: "Maintained"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for batch := range 20 {
		err := s.write(ctx, "seed", func(tx *sql.Tx) error {
			for i := range 25 {
				n := batch*25 + i
				p := crm.Person{
					ID: crm.NewID("per"), TenantID: tn.ID, Kind: crm.KindCandidate, FirstName: fmt.Sprint("Ada", n%7), LastName: "Lovelace",
					Headline: fmt.Sprintf("Engineer %d, Go and Rust", n%5), Location: []string{"Berlin", "London", "Paris"}[n%3],
					CurrentTitle: "Engineer", CurrentCompany: "Acme", Skills: []string{"Go", "Rust"}[:1+n%2], Source: "test",
					CreatedAt: time.Unix(int64(n), 0), UpdatedAt: time.Unix(int64(n), 0),
				}
				if err := s.insertPerson(ctx, tx, p); err != nil {
					return err
				}
				if err := s.reindexPerson(ctx, tx, tn.ID, p.ID); err != nil {
					return err
				}
				ids = append(ids, p.ID)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for i, id := range ids {
		if i%2 == 0 {
			continue
		}
		headline := fmt.Sprintf("Senior engineer %d, Go", i%3)
		if _, err := s.UpdatePerson(ctx, tn.ID, id, crm.PersonPatch{Headline: &headline}); err != nil {
			t.Fatal(err)
		}
	}
	return s, tn.ID
}

// searchAll runs a fixed set of searches: what the merge must not change.
func searchAll(t *testing.T, s *Store, tenant string) []crm.SearchResult {
	t.Helper()
	var out []crm.SearchResult
	for _, q := range []crm.PeopleQuery{
		{Text: "engineer", Limit: 1000}, {Text: "go", Location: "berlin", Limit: 1000}, {Text: "senior rust", Limit: 1000},
		{Text: "ada3", Limit: 1000}, {Text: "lovelace", Limit: 7},
	} {
		res, err := s.SearchPeople(context.Background(), tenant, q)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, res)
	}
	return out
}

// TestMergeSearchIndexes: merging a fragmented index does work, a second
// merge finds nothing to do, and no search result changes (ids, order,
// totals).
func TestMergeSearchIndexes(t *testing.T) {
	s, tenant := fragmentedStore(t, Options{MaintainEvery: -1})
	before := searchAll(t, s, tenant)
	if before[0].Total != 500 || before[1].Total == 0 {
		t.Fatalf("fixture: %d engineers, %d Go in Berlin", before[0].Total, before[1].Total)
	}
	steps, err := s.MergeSearchIndexes(context.Background())
	if err != nil || steps == 0 {
		t.Fatalf("first merge: %d steps, %v; want work done", steps, err)
	}
	if again, err := s.MergeSearchIndexes(context.Background()); err != nil || again != 0 {
		t.Fatalf("second merge: %d steps, %v; want nothing to do", again, err)
	}
	after := searchAll(t, s, tenant)
	for i := range before {
		if before[i].Total != after[i].Total || !slices.Equal(before[i].IDs, after[i].IDs) {
			t.Errorf("search %d changed: %d %v → %d %v", i, before[i].Total, before[i].IDs, after[i].Total, after[i].IDs)
		}
	}
	// A write after the merge gives the next merge work again.
	headline := "Principal engineer"
	if _, err := s.UpdatePerson(context.Background(), tenant, before[4].IDs[0], crm.PersonPatch{Headline: &headline}); err != nil {
		t.Fatal(err)
	}
	if steps, err := s.MergeSearchIndexes(context.Background()); err != nil || steps == 0 {
		t.Fatalf("merge after a write: %d steps, %v; want work done", steps, err)
	}
}

// TestMergeSearchIndexesStopsWithContext: a cancelled merge stops before
// its next step and says why.
func TestMergeSearchIndexesStopsWithContext(t *testing.T) {
	s, _ := fragmentedStore(t, Options{MaintainEvery: -1})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if steps, err := s.MergeSearchIndexes(ctx); err == nil || steps != 0 {
		t.Fatalf("cancelled merge: %d steps, %v; want 0 and an error", steps, err)
	}
	if steps, err := s.MergeSearchIndexes(context.Background()); err != nil || steps == 0 {
		t.Fatalf("merge after the cancelled one: %d steps, %v", steps, err)
	}
}

// TestMaintainInBackground: with MaintainEvery set, the store merges by
// itself, reports each pass, finds nothing to do once merged, and Close
// stops it.
func TestMaintainInBackground(t *testing.T) {
	reports := make(chan int, 100)
	s, _ := fragmentedStore(t, Options{MaintainEvery: 20 * time.Millisecond, MergeAfterWrites: -1, OnMaintain: func(steps int, _ time.Duration, err error) {
		if err != nil {
			t.Errorf("background pass: %v", err)
		}
		select {
		case reports <- steps:
		default:
		}
	}})
	deadline := time.After(30 * time.Second)
	sawWork, sawIdle := false, false
	for !(sawWork && sawIdle) {
		select {
		case steps := <-reports:
			if steps > 0 {
				sawWork = true
			} else if sawWork {
				sawIdle = true
			}
		case <-deadline:
			t.Fatalf("background passes: work done %v, then an idle pass %v", sawWork, sawIdle)
		}
	}
	if steps, err := s.MergeSearchIndexes(context.Background()); err != nil || steps != 0 {
		t.Fatalf("after the background merge: %d steps, %v; want nothing left", steps, err)
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not stop the background upkeep")
	}
}

// TestMaintainWaitsForWrites: after the first pass, the background upkeep
// leaves the index alone until MergeAfterWrites full-text rows have been
// rewritten, then merges them.
func TestMaintainWaitsForWrites(t *testing.T) {
	ctx := context.Background()
	reports := make(chan int, 1000)
	s, err := Open(ctx, filepath.Join(t.TempDir(), "crm.db"), Options{MaintainEvery: 20 * time.Millisecond, MergeAfterWrites: 100,
		OnMaintain: func(steps int, _ time.Duration, err error) {
			if err != nil {
				t.Errorf("background pass: %v", err)
			}
			reports <- steps
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	next := func() int {
		t.Helper()
		select {
		case steps := <-reports:
			return steps
		case <-time.After(10 * time.Second):
			t.Fatal("no background pass in 10 s")
			return 0
		}
	}
	tn, err := s.CreateTenant(ctx, crm.Tenant{Name: "Quiet"})
	if err != nil {
		t.Fatal(err)
	}
	next() // the first pass
	add := func(n int) {
		t.Helper()
		for i := range n {
			if _, err := s.CreatePerson(ctx, tn.ID, crm.Person{Kind: crm.KindCandidate, FirstName: fmt.Sprint("Ada", i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	add(60) // 60 transactions, 60 segments: below the threshold
	for range len(reports) + 3 {
		if steps := next(); steps != 0 {
			t.Fatalf("a pass merged after 60 writes (%d steps); want it to wait for 100", steps)
		}
	}
	if got := s.ftsWrites.Load(); got != 60 {
		t.Fatalf("writes counted: %d, want 60", got)
	}
	add(40)
	deadline := time.After(10 * time.Second)
	for {
		select {
		case steps := <-reports:
			if steps == 0 {
				continue
			}
			if got, err := s.MergeSearchIndexes(ctx); err != nil || got != 0 {
				t.Fatalf("after the background merge: %d steps, %v; want nothing left", got, err)
			}
			return
		case <-deadline:
			t.Fatal("no merge within 10 s of the 100th write")
		}
	}
}
