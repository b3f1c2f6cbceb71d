package postgres_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/crm-mcp/crm-mcp/internal/crm"
	"github.com/crm-mcp/crm-mcp/internal/crm/store/postgres"
)

// benchPeople is how many people each of the two benchmark tenants has.
const benchPeople = 100_000

// bench is the benchmark database, seeded once per run (only when -bench
// selects a benchmark) and dropped by TestMain.
var bench struct {
	once   sync.Once
	err    error
	name   string
	appDSN string
	t1, t2 string
}

// seedBench fills two tenants with benchPeople people each, generated in
// the server (COPY FROM is not available on tables with row-level
// security), as the app role inside each tenant's transaction.
func seedBench(b *testing.B) {
	need(b)
	bench.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		name := randomName("crm_bench_")
		if bench.err = admin(ctx, `CREATE DATABASE `+name+` OWNER `+cluster.owner); bench.err != nil {
			return
		}
		bench.name = name
		if bench.err = postgres.Migrate(ctx, withDB(cluster.owner, name)); bench.err != nil {
			return
		}
		bench.appDSN = withDB(postgres.AppRole, name)
		s, err := postgres.Open(ctx, bench.appDSN, postgres.Options{OpTimeout: 10 * time.Minute})
		if err != nil {
			bench.err = err
			return
		}
		defer s.Close()
		for i, tn := range []*string{&bench.t1, &bench.t2} {
			t, err := s.CreateTenant(ctx, crm.Tenant{Name: "Bench"})
			if err != nil {
				bench.err = err
				return
			}
			*tn = t.ID
			bench.err = postgres.InTenant(s, ctx, t.ID, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, seedSQL, t.ID, benchPeople, i)
				return err
			})
			if bench.err != nil {
				return
			}
		}
		conn, err := pgx.Connect(ctx, withDB("", name))
		if err != nil {
			bench.err = err
			return
		}
		defer conn.Close(context.WithoutCancel(ctx))
		_, bench.err = conn.Exec(ctx, `VACUUM ANALYZE`)
	})
	if bench.err != nil {
		var pe *postgres.Error
		if errors.As(bench.err, &pe) {
			b.Fatalf("seed benchmark database: %v (SQLSTATE %s)", bench.err, pe.SQLState)
		}
		b.Fatalf("seed benchmark database: %v", bench.err)
	}
}

// seedSQL generates $2 people for tenant $1: 40 first × 40 last names, 3
// of 24 skills, 12 cities, a headline and title from small vocabularies.
// $3 shifts the mix so the two tenants differ.
const seedSQL = `
INSERT INTO people (tenant_id, id, kind, first_name, last_name, headline, emails, phones, location,
	current_title, current_company, skills, source, tags, created_at, updated_at)
SELECT $1, 'per_b' || $3::int || '_' || g,
	CASE WHEN g % 10 = 0 THEN 'contact' ELSE 'candidate' END,
	(ARRAY['Ada','Bob','Cyd','Dee','Eve','Finn','Gus','Hal','Ida','Jon','Kim','Lea','Max','Ned','Ola','Pia','Quin','Rex','Sam','Tia',
		'Uma','Vic','Wes','Xia','Yan','Zoe','Ari','Ben','Cal','Dan','Eli','Fay','Gil','Hana','Ivo','Jay','Kai','Liv','Mo','Nia'])[1 + (g + $3::int) % 40],
	(ARRAY['Smith','Jones','Brown','Taylor','Wilson','Davies','Evans','Thomas','Roberts','Johnson','Lewis','Walker','Wright','Hall',
		'Clarke','Jackson','Hughes','Green','Wood','Harris','Martin','Cooper','King','Baker','Lee','Allen','Young','Hill','Moore',
		'Scott','Adams','Ward','Turner','Parker','Carter','Mills','Price','Bell','Cook','Stone'])[1 + (g / 40) % 40],
	(ARRAY['Senior','Junior','Staff','Principal','Lead'])[1 + g % 5] || ' ' ||
		(ARRAY['backend','frontend','data','platform','mobile','security'])[1 + (g / 5) % 6] || ' engineer',
	ARRAY['p' || g || '@example.test'], '{}',
	(ARRAY['Berlin','Munich','Hamburg','London','Paris','Madrid','Lisbon','Vienna','Zurich','Amsterdam','Dublin','Warsaw'])[1 + (g / 7) % 12],
	(ARRAY['Engineer','Developer','Architect','Consultant','Manager'])[1 + (g / 3) % 5],
	'Company ' || (g % 500),
	ARRAY[
		(ARRAY['Go','Rust','Python','Java','Kotlin','Swift','TypeScript','Ruby','PostgreSQL','Kubernetes','Terraform','AWS',
			'GCP','Azure','Kafka','Redis','React','Vue','Django','Spark','Scala','Elixir','Haskell','C++'])[1 + g % 24],
		(ARRAY['Go','Rust','Python','Java','Kotlin','Swift','TypeScript','Ruby','PostgreSQL','Kubernetes','Terraform','AWS',
			'GCP','Azure','Kafka','Redis','React','Vue','Django','Spark','Scala','Elixir','Haskell','C++'])[1 + (g / 24 + 7) % 24],
		(ARRAY['Go','Rust','Python','Java','Kotlin','Swift','TypeScript','Ruby','PostgreSQL','Kubernetes','Terraform','AWS',
			'GCP','Azure','Kafka','Redis','React','Vue','Django','Spark','Scala','Elixir','Haskell','C++'])[1 + (g / 576 + 13) % 24]],
	'linkedin', '{}',
	now() - make_interval(mins => g), now() - make_interval(mins => g)
FROM generate_series(1, $2::int) AS g`

// BenchmarkSearchPeople searches one tenant of 100 000 people while
// another tenant holds 100 000 more. The data is generated once per run,
// only when -bench selects this benchmark (about 20 s).
func BenchmarkSearchPeople(b *testing.B) {
	seedBench(b)
	s, err := postgres.Open(context.Background(), bench.appDSN, postgres.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		q    crm.PeopleQuery
	}{
		// ~1/24 of the tenant has the skill; ranking sorts every match.
		{"text", crm.PeopleQuery{Text: "kubernetes", Limit: 20}},
		{"text_two_words", crm.PeopleQuery{Text: "senior kubernetes", Limit: 20}},
		{"text_rare", crm.PeopleQuery{Text: "ada stone", Limit: 20}},
		// ~12 500 text matches, ~1 000 of them in the city.
		{"text_location", crm.PeopleQuery{Text: "go", Location: "berlin", Limit: 20}},
		{"filter", crm.PeopleQuery{Skills: []string{"go"}, Location: "berlin", Limit: 20}},
		{"filter_kind", crm.PeopleQuery{Kind: crm.KindContact, Limit: 20}},
		{"location", crm.PeopleQuery{Location: "berlin", Limit: 20}},
		{"text_and_filter", crm.PeopleQuery{Text: "backend engineer", Skills: []string{"postgresql"}, Location: "lon", Limit: 20}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var total int
			for b.Loop() {
				res, err := s.SearchPeople(ctx, bench.t1, bc.q)
				if err != nil {
					b.Fatal(err)
				}
				total = res.Total
			}
			b.ReportMetric(float64(total), "matches")
		})
	}
}
