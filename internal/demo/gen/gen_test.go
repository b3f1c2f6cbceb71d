package gen

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/crm"
	"github.com/crm-mcp/crm-mcp/internal/demo"
)

var testNow = time.Date(2026, time.March, 2, 10, 30, 0, 0, time.UTC)

// demoUsers returns the demo users of a tenant as crm users.
func demoUsers(tenantID string) []crm.User {
	var out []crm.User
	for _, u := range demo.Users {
		if u.TenantID == tenantID {
			out = append(out, crm.User{ID: u.ID, TenantID: u.TenantID, Email: u.Email, Name: u.Name, Role: crm.Role(u.Role)})
		}
	}
	return out
}

func demoTenant(id string) crm.Tenant { return crm.Tenant{ID: id, Name: demo.Tenants[id]} }

func run(t testing.TB, cfg Config, tenantID string, seq, record bool) *fakeSink {
	t.Helper()
	users := demoUsers(tenantID)
	f := newFake(tenantID, users)
	f.seqIDs, f.record = seq, record
	if err := Generate(context.Background(), cfg, demoTenant(tenantID), users, f); err != nil {
		t.Fatal(err)
	}
	return f
}

// full is the default-size data set, generated once for the invariant
// tests.
var full struct {
	f   *fakeSink
	cfg Config
}

func fullRun(t *testing.T) (*fakeSink, Config) {
	t.Helper()
	if full.f == nil {
		full.cfg = Config{Seed: 42, Now: testNow}
		full.f = run(t, full.cfg, "tnt_acme", false, false)
	}
	return full.f, full.cfg
}

func TestCountsMatchConfig(t *testing.T) {
	f, _ := fullRun(t)
	if len(f.people) != 5000 || len(f.companies) != 200 || len(f.jobs) != 125 {
		t.Fatalf("people %d companies %d jobs %d, want defaults 5000/200/125", len(f.people), len(f.companies), len(f.jobs))
	}
	if len(f.taskIDs) != 500 {
		t.Errorf("tasks %d, want 500", len(f.taskIDs))
	}
	contacts := 0
	for _, p := range f.people {
		if p.Kind == crm.KindContact {
			contacts++
			if p.CompanyID == "" {
				t.Errorf("contact %s %s has no company", p.FirstName, p.LastName)
			}
		} else if p.CompanyID != "" {
			t.Errorf("candidate %s has a company id", p.FirstName)
		}
	}
	if contacts != 750 {
		t.Errorf("contacts %d, want 15%% = 750", contacts)
	}
	for _, cfg := range []Config{
		{Seed: 7, PeoplePerTenant: 1},
		{Seed: 7, PeoplePerTenant: 12, CompaniesPerTenant: 3, JobsPerTenant: 4},
		{Seed: 7, PeoplePerTenant: 300, CompaniesPerTenant: 40, JobsPerTenant: 30},
	} {
		f := run(t, cfg, "tnt_globex", false, false)
		wantC, wantJ := cfg.CompaniesPerTenant, cfg.JobsPerTenant
		if wantC == 0 {
			wantC, wantJ = 1, 1
		}
		if len(f.people) != cfg.PeoplePerTenant || len(f.companies) != wantC || len(f.jobs) != wantJ {
			t.Errorf("%+v: people %d companies %d jobs %d", cfg, len(f.people), len(f.companies), len(f.jobs))
		}
	}
}

func TestEmailsPhonesReservedAndUnique(t *testing.T) {
	f, _ := fullRun(t)
	seen := map[string]string{}
	phoneRE := regexp.MustCompile(`^\+1 \d{3} 555 01\d{2}$`)
	for _, id := range f.personIDs {
		p := f.people[id]
		if len(p.Emails) == 0 {
			t.Errorf("%s %s has no email", p.FirstName, p.LastName)
		}
		for _, e := range p.Emails {
			if !reservedEmail(e) {
				t.Errorf("email %q is not in a reserved example domain", e)
			}
			if other, dup := seen[e]; dup {
				t.Errorf("email %q shared by %s and %s", e, other, id)
			}
			seen[e] = id
		}
		for _, ph := range p.Phones {
			if !phoneRE.MatchString(ph) {
				t.Errorf("phone %q is not a fictional 555-01xx number", ph)
			}
		}
	}
	for _, c := range f.companies {
		if !strings.HasSuffix(c.Domain, ".example") {
			t.Errorf("company domain %q is not under .example", c.Domain)
		}
	}
}

func reservedEmail(e string) bool {
	local, domain, ok := strings.Cut(e, "@")
	if !ok || local == "" || strings.ContainsFunc(local, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_')
	}) {
		return false
	}
	return domain == "example.com" || domain == "example.org" || domain == "example.net" ||
		(strings.HasSuffix(domain, ".example") && len(domain) > len(".example"))
}

func familyByName(name string) (family, bool) {
	for _, f := range families {
		if f.name == name {
			return f, true
		}
	}
	return family{}, false
}

func TestSkillsComeFromTheFamilyCluster(t *testing.T) {
	f, _ := fullRun(t)
	perFamily := map[string]int{}
	for _, p := range f.people {
		if p.Kind != crm.KindCandidate {
			continue
		}
		fam, ok := familyByName(p.Tags[0])
		if !ok {
			t.Fatalf("candidate %s: first tag %q is not a family", p.FirstName, p.Tags[0])
		}
		perFamily[fam.name]++
		if !slices.ContainsFunc(fam.titles, func(tt title) bool { return strings.HasSuffix(p.CurrentTitle, tt.name) }) {
			t.Errorf("%s title %q is not a %s title", p.FirstName, p.CurrentTitle, fam.name)
		}
		if len(p.Skills) < 3 {
			t.Errorf("%s has only %v", p.FirstName, p.Skills)
		}
		seen := map[string]bool{}
		for _, s := range p.Skills {
			if !slices.Contains(fam.skills, s) {
				t.Errorf("%s (%s, %s) has skill %q outside the %s cluster", p.FirstName, fam.name, p.CurrentTitle, s, fam.name)
			}
			if seen[s] {
				t.Errorf("%s has skill %q twice", p.FirstName, s)
			}
			seen[s] = true
		}
	}
	if perFamily["backend"] < 500 {
		t.Errorf("only %d backend candidates", perFamily["backend"])
	}
	// Every family's core skills are in its cluster (the data is coherent).
	for _, fam := range families {
		for _, tt := range fam.titles {
			for _, s := range tt.core {
				if !slices.Contains(fam.skills, s) {
					t.Errorf("%s title %q core skill %q not in cluster", fam.name, tt.name, s)
				}
			}
		}
	}
	t.Logf("candidates per family: %v", perFamily)
}

func TestBackendEngineerSkills(t *testing.T) {
	f, _ := fullRun(t)
	backend, _ := familyByName("backend")
	n := 0
	for _, p := range f.people {
		if strings.HasSuffix(p.CurrentTitle, "Go Engineer") || strings.HasSuffix(p.CurrentTitle, "Backend Engineer") {
			n++
			for _, s := range p.Skills {
				if !slices.Contains(backend.skills, s) {
					t.Errorf("%s %q has non-backend skill %q", p.FirstName, p.CurrentTitle, s)
				}
			}
			if strings.HasSuffix(p.CurrentTitle, "Go Engineer") && !slices.Contains(p.Skills, "Go") {
				t.Errorf("Go engineer %s without Go: %v", p.FirstName, p.Skills)
			}
		}
	}
	if n == 0 {
		t.Fatal("no backend engineers generated")
	}
}

func TestPipelines(t *testing.T) {
	f, cfg := fullRun(t)
	byJob := map[string][]*crm.Application{}
	for _, id := range f.appIDs {
		a := f.apps[id]
		if _, ok := f.jobs[a.JobID]; !ok {
			t.Fatalf("application references unknown job %s", a.JobID)
		}
		if p, ok := f.people[a.PersonID]; !ok || p.Kind != crm.KindCandidate {
			t.Fatalf("application references non-candidate %s", a.PersonID)
		}
		if a.CreatedAt.Before(cfg.Now.Add(-PipelineDays*day)) || a.CreatedAt.After(cfg.Now) {
			t.Errorf("application created %v, outside the %d days before %v", a.CreatedAt, PipelineDays, cfg.Now)
		}
		byJob[a.JobID] = append(byJob[a.JobID], a)
	}
	stages := map[crm.Stage]int{}
	reached := map[crm.Stage]int{}
	moves := 0
	for _, jid := range f.jobIDs {
		j := f.jobs[jid]
		apps := byJob[jid]
		if len(apps) < PipelineMin || len(apps) > PipelineMax {
			t.Errorf("job %q has %d applications, want %d-%d", j.Title, len(apps), PipelineMin, PipelineMax)
		}
		hired := 0
		for _, a := range apps {
			stages[a.Stage]++
			moves += len(a.History) - 1
			for _, h := range a.History {
				reached[h.To]++
			}
			if a.Stage == crm.StageHired {
				hired++
			}
		}
		if (j.Status == crm.JobFilled) != (hired == 1) || hired > 1 {
			t.Errorf("job %q (%s) has %d hires", j.Title, j.Status, hired)
		}
	}
	if stages[crm.StageRejected] == 0 || stages[crm.StageInterview] == 0 || stages[crm.StageOffer] == 0 {
		t.Errorf("unrealistic funnel: %v", stages)
	}
	if !(reached[crm.StageSourced] > reached[crm.StageScreening] && reached[crm.StageScreening] > reached[crm.StageInterview] &&
		reached[crm.StageInterview] > reached[crm.StageOffer] && reached[crm.StageOffer] > reached[crm.StageHired]) {
		t.Errorf("funnel does not narrow: reached %v", reached)
	}
	t.Logf("%d applications, %d stage moves; current stages %v; reached %v", len(f.appIDs), moves, stages, reached)
}

func TestJobsRealistic(t *testing.T) {
	f, _ := fullRun(t)
	status := map[crm.JobStatus]int{}
	for _, id := range f.jobIDs {
		j := f.jobs[id]
		status[j.Status]++
		if j.Currency == "" || len(j.Currency) != 3 {
			t.Errorf("job %q currency %q", j.Title, j.Currency)
		}
		if j.SalaryMax != 0 && (j.SalaryMin <= 0 || j.SalaryMax <= j.SalaryMin) {
			t.Errorf("job %q salary %d-%d", j.Title, j.SalaryMin, j.SalaryMax)
		}
		if j.Currency == "EUR" && j.SalaryMax != 0 && (j.SalaryMax < 25_000 || j.SalaryMin > 200_000) {
			t.Errorf("job %q implausible EUR salary %d-%d", j.Title, j.SalaryMin, j.SalaryMax)
		}
	}
	t.Logf("job statuses %v", status)
	if status[crm.JobOpen]*2 < len(f.jobIDs) {
		t.Errorf("statuses %v: want mostly open", status)
	}
}

func TestTimestampsAndTasks(t *testing.T) {
	f, cfg := fullRun(t)
	lo := cfg.Now.Add(-PipelineDays * day)
	for _, a := range f.acts {
		if a.OccurredAt.Before(lo) || a.OccurredAt.After(cfg.Now) {
			t.Errorf("activity %q at %v outside the window", a.Summary, a.OccurredAt)
		}
	}
	for _, n := range f.notes {
		if n.CreatedAt.After(cfg.Now) {
			t.Errorf("note %q in the future: %v", n.Body, n.CreatedAt)
		}
	}
	whole := func(what string, ts ...time.Time) {
		for _, x := range ts {
			if !x.Equal(x.Truncate(time.Second)) {
				t.Fatalf("%s timestamp %v has sub-second precision", what, x)
			}
		}
	}
	for _, c := range f.companies {
		whole("company", c.CreatedAt, c.UpdatedAt)
	}
	for _, p := range f.people {
		whole("person", p.CreatedAt, p.UpdatedAt)
		if p.CompanyID != "" && p.CreatedAt.Before(f.companies[p.CompanyID].CreatedAt) {
			t.Errorf("contact %s created before their company", p.FirstName)
		}
	}
	for _, j := range f.jobs {
		whole("job", j.CreatedAt)
		if j.CreatedAt.Before(f.companies[j.CompanyID].CreatedAt) || j.CreatedAt.Before(lo) {
			t.Errorf("job %q created %v", j.Title, j.CreatedAt)
		}
	}
	for _, a := range f.apps {
		whole("application", a.CreatedAt)
		if a.CreatedAt.Before(f.people[a.PersonID].CreatedAt) || a.CreatedAt.Before(f.jobs[a.JobID].CreatedAt) {
			t.Errorf("application created %v before its person or job", a.CreatedAt)
		}
	}
	for _, a := range f.acts {
		whole("activity", a.OccurredAt)
		if a.OccurredAt.Before(f.people[a.PersonID].CreatedAt) {
			t.Errorf("activity %q before its person was created", a.Summary)
		}
	}
	for _, n := range f.notes {
		whole("note", n.CreatedAt)
		if n.PersonID != "" && n.CreatedAt.Before(f.people[n.PersonID].CreatedAt) {
			t.Errorf("note %q before its person was created", n.Body)
		}
	}
	var done, overdue, noDue int
	for _, id := range f.taskIDs {
		tk := f.tasks[id]
		switch {
		case tk.Done:
			done++
		case tk.DueAt.IsZero():
			noDue++
		case tk.DueAt.Before(cfg.Now):
			overdue++
		}
		if tk.CreatedAt.After(cfg.Now) || (!tk.DueAt.IsZero() && tk.CreatedAt.After(tk.DueAt)) {
			t.Errorf("task %q created %v due %v", tk.Title, tk.CreatedAt, tk.DueAt)
		}
	}
	if done == 0 || overdue == 0 || noDue == 0 {
		t.Errorf("tasks: done %d overdue %d no due date %d", done, overdue, noDue)
	}
	t.Logf("notes %d, activities %d, tasks %d (done %d, overdue %d, no due %d), sink calls %v",
		len(f.notes), len(f.acts), len(f.taskIDs), done, overdue, noDue, f.calls)
}

// TestDeterminism generates the same data set three times: twice with a
// sink issuing sequential ids (the raw transcripts must be byte-identical)
// and once with crm.NewID ids (equal after replacing each id with its
// creation label, so the generator does not depend on id values).
func TestDeterminism(t *testing.T) {
	cfg := Config{Seed: 2026, PeoplePerTenant: 1000, Now: testNow, PlantCanaries: true}
	a := run(t, cfg, "tnt_acme", true, true)
	b := run(t, cfg, "tnt_acme", true, true)
	c := run(t, cfg, "tnt_acme", false, true)
	ta, tb := a.transcript(false), b.transcript(false)
	if !bytes.Equal(ta, tb) {
		t.Fatal("two runs with the same config and sink differ")
	}
	if !bytes.Equal(a.transcript(true), c.transcript(true)) {
		t.Fatal("runs differ when the sink issues different ids")
	}
	t.Logf("transcript: %d calls, %d bytes, sha256 %x", bytes.Count(ta, []byte("\n")), len(ta), sha256.Sum256(a.transcript(true)))

	// A different Now shifts timestamps only.
	cfg2 := cfg
	cfg2.Now = testNow.Add(1000 * time.Hour)
	d := run(t, cfg2, "tnt_acme", true, true)
	stamp := regexp.MustCompile(`"\d{4}-\d\d-\d\dT[^"]*"`)
	if !bytes.Equal(stamp.ReplaceAll(ta, nil), stamp.ReplaceAll(d.transcript(false), nil)) {
		t.Error("changing Now changed more than timestamps")
	}
	// A different seed changes the data.
	cfg3 := cfg
	cfg3.Seed++
	if e := run(t, cfg3, "tnt_acme", true, true); bytes.Equal(ta, e.transcript(false)) {
		t.Error("a different seed produced the same data")
	}
}

// TestSetClock drives the fake's clock the way a seeder drives a store's
// Options.Now: stage histories get backdated, monotonic times, and the
// Sink calls stay the same.
func TestSetClock(t *testing.T) {
	cfg := Config{Seed: 5, PeoplePerTenant: 800, Now: testNow}
	plain := run(t, cfg, "tnt_acme", true, true)
	users := demoUsers("tnt_acme")
	f := newFake("tnt_acme", users)
	f.seqIDs, f.record = true, true
	ticks := 0
	cfg.SetClock = func(at time.Time) {
		ticks++
		if at.After(cfg.Now) || at.Before(cfg.Now.Add(-3*365*day)) {
			t.Errorf("clock set to %v", at)
		}
		f.clock = at
	}
	if err := Generate(context.Background(), cfg, demoTenant("tnt_acme"), users, f); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(plain.transcript(false), f.transcript(false)) {
		t.Fatal("SetClock changed the Sink calls")
	}
	calls := 0
	for _, n := range f.calls {
		calls += n
	}
	if ticks != calls {
		t.Errorf("%d clock ticks for %d sink calls", ticks, calls)
	}
	lo := cfg.Now.Add(-PipelineDays * day)
	var spread time.Duration
	for _, id := range f.appIDs {
		h := f.apps[id].History
		for i, c := range h {
			if c.At.Before(lo) || c.At.After(cfg.Now) || (i > 0 && c.At.Before(h[i-1].At)) {
				t.Fatalf("history %v", h)
			}
		}
		spread = max(spread, h[len(h)-1].At.Sub(h[0].At))
	}
	if spread < 14*day {
		t.Errorf("longest application history spans only %v", spread)
	}
}

func TestTenantsDiffer(t *testing.T) {
	cfg := Config{Seed: 1, PeoplePerTenant: 400, Now: testNow}
	acme := run(t, cfg, "tnt_acme", true, true)
	globex := run(t, cfg, "tnt_globex", true, true)
	names := func(f *fakeSink) []string {
		var out []string
		for _, id := range f.personIDs[:50] {
			out = append(out, f.people[id].FirstName+" "+f.people[id].LastName+" "+f.people[id].Emails[0])
		}
		return out
	}
	na, ng := names(acme), names(globex)
	same := 0
	for i := range na {
		if na[i] == ng[i] {
			same++
		}
	}
	if same > 2 {
		t.Errorf("%d of the first 50 people coincide across tenants", same)
	}
	for _, id := range globex.personIDs {
		if globex.people[id].OwnerID != "usr_globex_bob" {
			t.Fatalf("globex person owned by %q", globex.people[id].OwnerID)
		}
	}
	for _, id := range acme.personIDs {
		if o := acme.people[id].OwnerID; o != "usr_acme_alice" {
			t.Fatalf("acme person owned by %q (owners are recruiters only)", o)
		}
	}
	if again := run(t, cfg, "tnt_globex", true, true); !bytes.Equal(again.transcript(false), globex.transcript(false)) {
		t.Error("globex is not deterministic")
	}
}

func TestCanaries(t *testing.T) {
	ca, cg := Canary("tnt_acme"), Canary("tnt_globex")
	if ca == cg || ca != Canary("tnt_acme") || !regexp.MustCompile(`^cnry[0-9a-f]{24}$`).MatchString(ca) {
		t.Fatalf("canaries %q %q", ca, cg)
	}
	for _, n := range []int{1, 2, 300} {
		cfg := Config{Seed: 9, PeoplePerTenant: n, Now: testNow}
		plain := run(t, cfg, "tnt_acme", true, true)
		cfg.PlantCanaries = true
		planted := run(t, cfg, "tnt_acme", true, true)
		if bytes.Contains(plain.transcript(false), []byte("cnry")) {
			t.Fatal("canary without PlantCanaries")
		}
		if bytes.Contains(planted.transcript(false), []byte(cg)) {
			t.Fatal("another tenant's canary planted")
		}
		pl := strings.Split(string(plain.transcript(false)), "\n")
		pd := strings.Split(string(planted.transcript(false)), "\n")
		if len(pl) != len(pd) {
			t.Fatalf("n=%d: PlantCanaries changed the number of calls", n)
		}
		var diff []string
		for i := range pl {
			if pl[i] != pd[i] {
				diff = append(diff, strings.SplitN(pd[i], " ", 2)[0])
			}
		}
		want := []string{"CreateCompany", "CreatePerson", "CreatePerson", "AddNote"}
		if n == 1 {
			want = []string{"CreateCompany", "CreatePerson", "AddNote"}
		}
		if !slices.Equal(diff, want) {
			t.Errorf("n=%d: canary changed calls %v, want %v", n, diff, want)
		}
		var headline, skill, desc, note int
		for _, p := range planted.people {
			if strings.Contains(p.Headline, ca) {
				headline++
			}
			if slices.Contains(p.Skills, ca) {
				skill++
			}
		}
		for _, c := range planted.companies {
			if strings.Contains(c.Description, ca) {
				desc++
			}
		}
		for _, nt := range planted.notes {
			if strings.Contains(nt.Body, ca) {
				note++
			}
		}
		if headline != 1 || skill != 1 || desc != 1 || note != 1 {
			t.Errorf("n=%d: canary in %d headlines, %d skill lists, %d descriptions, %d notes; want 1 each", n, headline, skill, desc, note)
		}
	}
}

func TestNamesFold(t *testing.T) {
	total := 0
	for _, c := range cultures {
		for _, n := range slices.Concat(c.first, c.last) {
			total++
			if f := fold(n); f == "" || strings.ContainsFunc(f, func(r rune) bool { return r < 'a' || r > 'z' }) {
				t.Errorf("%s: %q folds to %q", c.name, n, f)
			}
		}
	}
	if total < 300 {
		t.Errorf("only %d names", total)
	}
	for _, p := range companyPrefixes {
		if fold(p) == "" {
			t.Errorf("prefix %q", p)
		}
	}
}

// failingSink fails its nth call.
type failingSink struct {
	*fakeSink
	n, calls int
}

var errBoom = errors.New("boom")

func (s *failingSink) tick() error {
	s.calls++
	if s.calls == s.n {
		return errBoom
	}
	return nil
}

func (s *failingSink) CreatePerson(ctx context.Context, tid string, p crm.Person) (crm.Person, error) {
	if err := s.tick(); err != nil {
		return crm.Person{}, err
	}
	return s.fakeSink.CreatePerson(ctx, tid, p)
}

func (s *failingSink) MoveStage(ctx context.Context, tid, id string, to crm.Stage, u, reason string) (crm.Application, error) {
	if err := s.tick(); err != nil {
		return crm.Application{}, err
	}
	return s.fakeSink.MoveStage(ctx, tid, id, to, u, reason)
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	acme := demoUsers("tnt_acme")
	cfg := Config{Seed: 1, PeoplePerTenant: 50, Now: testNow}
	if err := Generate(ctx, cfg, demoTenant("tnt_acme"), append(acme, demoUsers("tnt_globex")...), newFake("tnt_acme", acme)); err == nil {
		t.Error("accepted a user of another tenant")
	}
	viewers := []crm.User{{ID: "usr_v", TenantID: "tnt_acme", Role: crm.RoleViewer}}
	if err := Generate(ctx, cfg, demoTenant("tnt_acme"), viewers, newFake("tnt_acme", viewers)); err == nil {
		t.Error("accepted a tenant without recruiters or admins")
	}
	if err := Generate(ctx, Config{PeoplePerTenant: -1}, demoTenant("tnt_acme"), acme, newFake("tnt_acme", acme)); err == nil {
		t.Error("accepted a negative count")
	}
	if err := Generate(ctx, cfg, crm.Tenant{}, acme, newFake("", acme)); err == nil {
		t.Error("accepted an empty tenant")
	}
	// Admins own the data when there is no recruiter.
	admins := []crm.User{{ID: "usr_a", TenantID: "tnt_x", Role: crm.RoleAdmin}, {ID: "usr_v", TenantID: "tnt_x", Role: crm.RoleViewer}}
	fx := newFake("tnt_x", admins)
	if err := Generate(ctx, cfg, crm.Tenant{ID: "tnt_x"}, admins, fx); err != nil {
		t.Fatal(err)
	}
	for _, p := range fx.people {
		if p.OwnerID != "usr_a" {
			t.Fatalf("owner %q", p.OwnerID)
		}
	}
	for _, n := range []int{1, 30, 60} {
		s := &failingSink{fakeSink: newFake("tnt_acme", acme), n: n}
		err := Generate(ctx, cfg, demoTenant("tnt_acme"), acme, s)
		if !errors.Is(err, errBoom) || !strings.HasPrefix(err.Error(), "gen: ") {
			t.Errorf("fail at call %d: got %v", n, err)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := Generate(cctx, cfg, demoTenant("tnt_acme"), acme, newFake("tnt_acme", acme)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

func BenchmarkGenerate5000(b *testing.B) {
	users := demoUsers("tnt_acme")
	cfg := Config{Seed: 42, Now: testNow}
	for b.Loop() {
		f := newFake("tnt_acme", users)
		if err := Generate(context.Background(), cfg, demoTenant("tnt_acme"), users, f); err != nil {
			b.Fatal(err)
		}
	}
}
