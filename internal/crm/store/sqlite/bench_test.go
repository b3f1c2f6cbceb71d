package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/crm"
)

// benchPeople is the population BenchmarkSearchPeople searches.
const benchPeople = 100_000

var (
	benchOnce   sync.Once
	benchDir    string
	benchStore  *Store
	benchTenant string
	benchErr    error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchStore != nil {
		benchStore.Close()
	}
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// seedBench fills a database once per test binary: benchPeople people in
// one tenant (plus a second tenant of the same size so the tenant filter
// does real work), one note for every tenth person. Rows go in through the
// same insert and index code as CreatePerson and AddNote, 5 000 per
// transaction.
func seedBench(ctx context.Context) (*Store, string, error) {
	benchOnce.Do(func() {
		path := os.Getenv("CRM_SQLITE_BENCH_DB") // keep the seeded file between runs
		if path == "" {
			if benchDir, benchErr = os.MkdirTemp("", "crm-sqlite-bench-"); benchErr != nil {
				return
			}
			path = filepath.Join(benchDir, "crm.db")
		}
		benchStore, benchErr = Open(ctx, path, Options{MaintainEvery: -1})
		if benchErr != nil {
			return
		}
		var id string
		if err := benchStore.r.QueryRowContext(ctx, `SELECT id FROM tenants WHERE name = 'Bench One'`).Scan(&id); err == nil {
			benchTenant = id // already seeded
			return
		}
		var other string
		for i, name := range []string{"Bench One", "Bench Two"} {
			t, err := benchStore.CreateTenant(ctx, crm.Tenant{Name: name})
			if err != nil {
				benchErr = err
				return
			}
			if i == 0 {
				benchTenant = t.ID
			} else {
				other = t.ID
			}
		}
		for _, tenant := range []string{benchTenant, other} {
			if benchErr = seedTenant(ctx, benchStore, tenant); benchErr != nil {
				return
			}
		}
		// As a running store keeps it (see maintain.go).
		_, benchErr = benchStore.MergeSearchIndexes(ctx)
	})
	return benchStore, benchTenant, benchErr
}

var (
	firstNames = []string{"Ada", "Grace", "Linus", "Ken", "Rob", "Barbara", "Margaret", "Dennis", "Frances", "Edsger", "Donald", "Radia", "Alan", "Katherine", "John", "Hedy", "Tim", "Sophie", "Guido", "Anders"}
	lastNames  = []string{"Lovelace", "Hopper", "Torvalds", "Thompson", "Pike", "Liskov", "Hamilton", "Ritchie", "Allen", "Dijkstra", "Knuth", "Perlman", "Turing", "Johnson", "McCarthy", "Lamarr", "Berners-Lee", "Wilson", "Rossum", "Hejlsberg"}
	skillsPool = []string{"Go", "Rust", "Python", "Java", "Kotlin", "TypeScript", "React", "PostgreSQL", "MySQL", "Redis", "Kafka", "Kubernetes", "Terraform", "AWS", "GCP", "Azure", "Docker", "gRPC", "GraphQL", "Spark", "Airflow", "dbt", "Swift", "C++", "Elixir", "Scala", "Ruby", "Rails", "Django", "Flask"}
	titles     = []string{"Software Engineer", "Senior Software Engineer", "Staff Engineer", "Engineering Manager", "Data Engineer", "Data Scientist", "SRE", "Platform Engineer", "Frontend Developer", "Backend Developer", "Product Manager", "CTO"}
	companies  = []string{"Initech", "Globex", "Umbrella", "Hooli", "Pied Piper", "Stark Industries", "Wayne Enterprises", "Acme", "Soylent", "Tyrell", "Cyberdyne", "Aperture"}
	cities     = []string{"Berlin", "Munich", "Hamburg", "London", "Paris", "Amsterdam", "Lisbon", "Madrid", "Warsaw", "Prague", "Vienna", "Zurich", "Stockholm", "Dublin", "Remote"}
	noteWords  = []string{"great", "call", "interested", "relocation", "salary", "expectations", "notice", "period", "strong", "distributed", "systems", "leadership", "mentoring", "startup", "fintech", "healthcare", "visa", "sponsorship"}
)

func seedTenant(ctx context.Context, s *Store, tenant string) error {
	rng := rand.New(rand.NewPCG(1, uint64(len(tenant))))
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	const batch = 5000
	for start := 0; start < benchPeople; start += batch {
		err := s.write(ctx, "seed", func(tx *sql.Tx) error {
			for i := start; i < start+batch; i++ {
				skills := map[string]bool{}
				for len(skills) < 3+rng.IntN(3) {
					skills[pick(skillsPool)] = true
				}
				var list []string
				for sk := range skills {
					list = append(list, sk)
				}
				title, company := pick(titles), pick(companies)
				at := base.Add(time.Duration(i) * time.Minute)
				p := crm.Person{
					ID: crm.NewID("per"), TenantID: tenant, Kind: crm.KindCandidate, FirstName: pick(firstNames), LastName: pick(lastNames),
					Headline: fmt.Sprintf("%s at %s, %s and %s", title, company, list[0], list[1]), Location: pick(cities) + ", EU",
					CurrentTitle: title, CurrentCompany: company, Skills: list, Source: "linkedin", CreatedAt: at, UpdatedAt: at,
				}
				if err := s.insertPerson(ctx, tx, p); err != nil {
					return err
				}
				if i%10 == 0 {
					body := pick(noteWords) + " " + pick(noteWords) + " " + pick(noteWords) + " " + pick(noteWords)
					if _, err := tx.ExecContext(ctx, `INSERT INTO notes (`+noteCols+`) VALUES (?, ?, ?, NULL, NULL, ?, '', ?)`,
						crm.NewID("not"), tenant, p.ID, body, ts(at)); err != nil {
						return err
					}
				}
				if err := s.reindexPerson(ctx, tx, tenant, p.ID); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkSearchPeople searches 100 000 people of one tenant (next to
// 100 000 of another). Seeding takes a while, so it runs only with -bench
// and never in -short mode.
func BenchmarkSearchPeople(b *testing.B) {
	if testing.Short() {
		b.Skip("seeds 200 000 people")
	}
	ctx := context.Background()
	start := time.Now()
	s, tenant, err := seedBench(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded in %v (once per binary)", time.Since(start).Round(time.Millisecond))
	for _, bc := range []struct {
		name string
		q    crm.PeopleQuery
	}{
		{"text/common", crm.PeopleQuery{Text: "senior engineer", Limit: 20}},
		{"text/rare", crm.PeopleQuery{Text: "ada lovelace kafka", Limit: 20}},
		{"text/note", crm.PeopleQuery{Text: "visa sponsorship", Limit: 20}},
		{"filter/location+skill", crm.PeopleQuery{Location: "berlin", Skills: []string{"go"}, Limit: 20}},
		{"filter/location", crm.PeopleQuery{Location: "berlin", Limit: 20}},
		{"filter/skills", crm.PeopleQuery{Skills: []string{"go", "postgresql", "kubernetes"}, Limit: 20}},
		{"filter/none", crm.PeopleQuery{Limit: 20}},
		{"text+filter", crm.PeopleQuery{Text: "engineer", Location: "london", Skills: []string{"rust"}, Limit: 20}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var total int
			for b.Loop() {
				res, err := s.SearchPeople(ctx, tenant, bc.q)
				if err != nil {
					b.Fatal(err)
				}
				total = res.Total
			}
			b.ReportMetric(float64(total), "matches")
		})
	}
}
