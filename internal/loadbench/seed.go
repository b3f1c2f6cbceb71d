package loadbench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/app"
	"github.com/crm-mcp/crm-mcp/internal/config"
	"github.com/crm-mcp/crm-mcp/internal/crm"
	"github.com/crm-mcp/crm-mcp/internal/crm/store/sqlite"
	"github.com/crm-mcp/crm-mcp/internal/demo"
	"github.com/crm-mcp/crm-mcp/internal/demo/gen"
	"github.com/crm-mcp/crm-mcp/internal/identity"
)

// Marker files of a seeded directory. internal/app's benchmark writes
// appBenchMarker after seeding tnt_acme and tnt_globex (same generator
// seeds as here); the harness records the tenants it completed in
// seedMarker, so an interrupted seed is detected.
const (
	appBenchMarker = "bench-seed.json"
	seedMarker     = "loadbench-seed.json"
)

// cheapHash keeps seeding and the OAuth logins fast; the demo passwords
// are public anyway.
var cheapHash = identity.Params{Time: 1, Memory: 1024, Threads: 1}

// extraPassword is the password of the users the harness adds.
const extraPassword = "loadbench-demo-pass"

type seedState struct {
	People  int      `json:"people"`
	Tenants []string `json:"tenants"`
}

// prepareSQLite makes sure dir/crm.db holds every demo tenant with people
// people each, seeding what is missing (gen data, backdated clock, cheap
// password hashes), and returns what it did.
func prepareSQLite(ctx context.Context, dir string, people int, progress io.Writer) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	var st seedState
	if raw, err := os.ReadFile(filepath.Join(dir, seedMarker)); err == nil {
		if err := json.Unmarshal(raw, &st); err != nil {
			return fmt.Errorf("read %s: %w", seedMarker, err)
		}
	} else if raw, err := os.ReadFile(filepath.Join(dir, appBenchMarker)); err == nil {
		if err := json.Unmarshal(raw, &st); err != nil {
			return fmt.Errorf("read %s: %w", appBenchMarker, err)
		}
		st.Tenants = []string{"tnt_acme", "tnt_globex"}
	}
	if len(st.Tenants) > 0 && st.People != people {
		return fmt.Errorf("%s holds %d people per tenant, not %d: use another directory", dir, st.People, people)
	}
	st.People = people

	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	store, err := sqlite.Open(ctx, filepath.Join(dir, "crm.db"), sqlite.Options{Now: func() time.Time { return time.Unix(0, clock.Load()) }, MaintainEvery: -1})
	if err != nil {
		return err
	}
	defer store.Close()
	for i, tid := range demo.TenantIDs {
		if slices.Contains(st.Tenants, tid) {
			continue
		}
		switch _, err := store.GetTenant(ctx, tid); {
		case err == nil:
			return fmt.Errorf("%s: tenant %s is there but its seed did not complete; remove the directory", dir, tid)
		case !errors.Is(err, crm.ErrNotFound):
			return err
		}
		start := time.Now()
		fmt.Fprintf(progress, "seeding %s with %d people into %s...\n", tid, people, dir)
		t, err := store.CreateTenant(ctx, crm.Tenant{ID: tid, Name: demo.Tenants[tid]})
		if err != nil {
			return err
		}
		var users []crm.User
		for _, su := range demo.Users {
			if su.TenantID != tid {
				continue
			}
			u, err := store.CreateUser(ctx, tid, crm.User{ID: su.ID, TenantID: tid, Email: su.Email, Name: su.Name,
				Role: crm.Role(su.Role), PasswordHash: identity.HashPassword(su.Password, cheapHash)})
			if err != nil {
				return err
			}
			users = append(users, u)
		}
		cfg := gen.Config{Seed: uint64(i + 1), PeoplePerTenant: people, SetClock: func(at time.Time) { clock.Store(at.UnixNano()) }}
		if err := gen.Generate(ctx, cfg, t, users, store); err != nil {
			return err
		}
		clock.Store(time.Now().UnixNano())
		st.Tenants = append(st.Tenants, tid)
		raw, _ := json.Marshal(st)
		if err := os.WriteFile(filepath.Join(dir, seedMarker), raw, 0o600); err != nil {
			return err
		}
		fmt.Fprintf(progress, "  seeded %s in %s\n", tid, time.Since(start).Round(time.Second))
	}
	// The servers under test keep their full-text indexes merged in the
	// background (sqlite.Store's upkeep); start every run from a merged
	// index, whatever the last run's writes left (a no-op when merged).
	if _, err := store.MergeSearchIndexes(ctx); err != nil {
		return fmt.Errorf("merge search indexes: %w", err)
	}
	return nil
}

// tenantData is what the workload picks from in one tenant.
type tenantData struct {
	id     string
	people []string
	jobs   []string
	apps   []*appState // applications not hired or rejected
	users  []string    // user ids making calls
	login  identity.SeedUser
}

// appState tracks the stage the harness last moved an application to, so
// that each moveStage changes it (interview ↔ screening).
type appState struct {
	id    string
	busy  atomic.Bool
	stage atomic.Value // crm.Stage
}

// discover opens the CRM store, adds usersPerTenant recruiters per demo
// tenant (usr_<tenant>_lbNN, kept between runs), and picks the people,
// jobs and applications the workload uses.
func discover(ctx context.Context, cfg config.CRMStore, usersPerTenant int) ([]*tenantData, error) {
	store, err := app.OpenCRMStore(ctx, cfg, nil)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	var out []*tenantData
	for _, tid := range demo.TenantIDs {
		if _, err := store.GetTenant(ctx, tid); err != nil {
			return nil, fmt.Errorf("tenant %s: %w (seed the store first)", tid, err)
		}
		td := &tenantData{id: tid}
		for _, su := range demo.Users {
			if su.TenantID == tid && su.Role == identity.RoleRecruiter {
				td.login = su
				break
			}
		}
		short := strings.TrimPrefix(tid, "tnt_")
		for i := range usersPerTenant {
			id := fmt.Sprintf("usr_%s_lb%02d", short, i+1)
			td.users = append(td.users, id)
			switch _, err := store.GetUser(ctx, tid, id); {
			case err == nil:
				continue
			case !errors.Is(err, crm.ErrNotFound):
				return nil, err
			}
			_, err := store.CreateUser(ctx, tid, crm.User{ID: id, TenantID: tid, Email: fmt.Sprintf("lb%02d@%s.example", i+1, short),
				Name: fmt.Sprintf("Load Tester %02d", i+1), Role: crm.Role(identity.RoleRecruiter),
				PasswordHash: identity.HashPassword(extraPassword, cheapHash)})
			if err != nil {
				return nil, fmt.Errorf("create user %s: %w", id, err)
			}
		}
		// People with an application at interview or at screening: moveStage
		// toggles applications between the two, so the pool a reused
		// directory yields stays the same size. (Taking only people at
		// interview shrank it run after run, as applications drifted to
		// screening, until moveStage found no free application.)
		var (
			seen     = map[string]bool{}
			withApps []string // the first 75 of each stage
		)
		for _, st := range []crm.Stage{crm.StageInterview, crm.StageScreening} {
			res, err := store.SearchPeople(ctx, tid, crm.PeopleQuery{Stage: st, Limit: 200})
			if err != nil {
				return nil, err
			}
			for i, id := range res.IDs {
				if seen[id] {
					continue
				}
				seen[id] = true
				td.people = append(td.people, id)
				if i < 75 {
					withApps = append(withApps, id)
				}
			}
		}
		jobs := map[string]bool{}
		for _, pid := range withApps {
			apps, err := store.PersonApplications(ctx, tid, pid)
			if err != nil {
				return nil, err
			}
			for _, a := range apps {
				if !jobs[a.JobID] {
					jobs[a.JobID] = true
					td.jobs = append(td.jobs, a.JobID)
				}
				if a.Stage != crm.StageHired && a.Stage != crm.StageRejected {
					as := &appState{id: a.ID}
					as.stage.Store(a.Stage)
					td.apps = append(td.apps, as)
				}
			}
		}
		if len(td.people) == 0 || len(td.jobs) == 0 || len(td.apps) == 0 {
			return nil, fmt.Errorf("tenant %s: no people at interview, jobs or open applications to work with", tid)
		}
		out = append(out, td)
	}
	return out, nil
}
