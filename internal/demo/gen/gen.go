// Package gen generates deterministic, realistic recruiting data for one
// tenant (companies, candidates and client contacts, jobs, pipelines with
// stage histories, notes, activities and tasks) and writes it through the
// narrow Sink interface, which every crm.Store satisfies.
//
// The same Config and tenant id always produce the same sequence of Sink
// calls, up to the ids the Sink assigns: the generator never looks at an
// id's value, it only passes the ids it got back into later calls. Each
// tenant's data comes from its own random stream (the tenant id is mixed
// into the seed), so tenants differ but are each reproducible.
//
// Every address is reserved for documentation: company domains under
// ".example", people's private addresses at example.com/.org/.net, and
// phone numbers in the fictional NANP range +1 AAA 555-0100..0199.
package gen

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strings"
	"time"
	"unicode"

	"github.com/crm-mcp/crm-mcp/internal/crm"
)

// Config sizes and seeds one tenant's data. Zero fields take defaults.
type Config struct {
	// Seed selects the data set; the tenant id is mixed in.
	Seed uint64
	// PeoplePerTenant is the number of people (candidates and, about
	// 15%, client contacts). Default 5000.
	PeoplePerTenant int
	// CompaniesPerTenant is the number of client companies. Default
	// PeoplePerTenant/25 (at least 1).
	CompaniesPerTenant int
	// JobsPerTenant is the number of jobs. Default PeoplePerTenant/40 (at
	// least 1).
	JobsPerTenant int
	// Now is the base time every generated timestamp is relative to
	// (pipelines and activities fall in the 180 days before it; tasks are
	// due around it). Zero means DefaultNow, never the wall clock, so that
	// output stays deterministic. It is used in UTC, truncated to seconds.
	Now time.Time
	// PlantCanaries puts Canary(tenant.ID) into one person's headline,
	// another (or the same, if there is only one) person's skills, one
	// company's description and one note. It changes nothing else.
	PlantCanaries bool
	// SetClock, if set, is called with the intended time of each write
	// just before the Sink call that makes it. The Store contract has no
	// way to pass CreatedAt/UpdatedAt or stage-change times (backends
	// stamp them from their own clock), so a seeder that wants backdated
	// history points the store's clock (store/sqlite and store/postgres
	// Options.Now) at the last time given here. Times never exceed Now,
	// and an application's stage changes never go back in time. Setting
	// it does not change the Sink calls.
	SetClock func(at time.Time)
}

// DefaultNow is the base time used when Config.Now is zero.
var DefaultNow = time.Date(2026, time.January, 5, 9, 0, 0, 0, time.UTC)

// Defaults.
const (
	DefaultPeople     = 5000
	ContactShare      = 0.15 // share of people who are client contacts
	PipelineMin       = 5    // applications per job, at least (if enough candidates)
	PipelineMax       = 40
	PipelineDays      = 180 // pipelines and activities span this many days before Now
	peoplePerCompany  = 25
	peoplePerJob      = 40
	peoplePerTask     = 10
	maxCompanyRetries = 64
)

// Sink is the part of crm.Store the generator writes through.
type Sink interface {
	CreateCompany(ctx context.Context, tenantID string, c crm.Company) (crm.Company, error)
	CreatePerson(ctx context.Context, tenantID string, p crm.Person) (crm.Person, error)
	CreateJob(ctx context.Context, tenantID string, j crm.Job) (crm.Job, error)
	AddToPipeline(ctx context.Context, tenantID string, a crm.Application) (crm.Application, error)
	MoveStage(ctx context.Context, tenantID, applicationID string, to crm.Stage, userID, reason string) (crm.Application, error)
	AddNote(ctx context.Context, tenantID string, n crm.Note) (crm.Note, error)
	LogActivity(ctx context.Context, tenantID string, a crm.Activity) (crm.Activity, error)
	CreateTask(ctx context.Context, tenantID string, t crm.Task) (crm.Task, error)
	// CompleteTask marks the "done" tasks: the contract does not say
	// whether CreateTask honours Done, CompleteTask is unambiguous.
	CompleteTask(ctx context.Context, tenantID, id, userID string) (crm.Task, error)
}

// Every store is a sink.
var _ Sink = crm.Store(nil)

// Canary returns the tenant's canary: a lower-case alphanumeric token
// ("cnry" + 24 hex digits of SHA-256 over the tenant id) that no other
// tenant's canary and no generated text contains, and that full-text
// tokenizers keep as one word. Leak tests plant it with
// Config.PlantCanaries and look for it from other tenants.
func Canary(tenantID string) string {
	sum := sha256.Sum256([]byte("crm-mcp demo canary\x00" + tenantID))
	return "cnry" + hex.EncodeToString(sum[:12])
}

// Generate writes one tenant's data to sink. users are the tenant's users
// (all must belong to tenant): records are owned by its recruiters (by its
// admins if it has no recruiter; viewers own nothing). It stops at the
// first error, which it returns wrapped with what it was writing.
func Generate(ctx context.Context, cfg Config, tenant crm.Tenant, users []crm.User, sink Sink) error {
	if sink == nil {
		return errors.New("gen: nil sink")
	}
	if tenant.ID == "" {
		return errors.New("gen: tenant id is required")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	var recruiters, admins []crm.User
	for i, u := range users {
		if u.TenantID != tenant.ID {
			return fmt.Errorf("gen: users[%d] (%s) belongs to tenant %q, not %q", i, u.ID, u.TenantID, tenant.ID)
		}
		if u.ID == "" {
			return fmt.Errorf("gen: users[%d] has no id", i)
		}
		switch u.Role {
		case crm.RoleRecruiter:
			recruiters = append(recruiters, u)
		case crm.RoleAdmin:
			admins = append(admins, u)
		}
	}
	owners := recruiters
	if len(owners) == 0 {
		owners = admins
	}
	if len(owners) == 0 {
		return fmt.Errorf("gen: tenant %s has no recruiter or admin to own the data", tenant.ID)
	}
	h := fnv.New64a()
	h.Write([]byte(tenant.ID))
	g := &generator{
		ctx: ctx, cfg: cfg, tid: tenant.ID, sink: sink, now: cfg.Now,
		tenantHash: h.Sum64(), owners: owners,
		emails: map[string]bool{}, companyNames: map[string]bool{}, domains: map[string]bool{},
		canary: Canary(tenant.ID),
	}
	for _, step := range []func() error{g.genCompanies, g.genPeople, g.genJobs, g.genPipelines, g.genNotes, g.genActivities, g.genTasks} {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

func (c Config) withDefaults() (Config, error) {
	if c.PeoplePerTenant < 0 || c.CompaniesPerTenant < 0 || c.JobsPerTenant < 0 {
		return c, errors.New("gen: negative count in config")
	}
	if c.PeoplePerTenant == 0 {
		c.PeoplePerTenant = DefaultPeople
	}
	if c.CompaniesPerTenant == 0 {
		c.CompaniesPerTenant = max(1, c.PeoplePerTenant/peoplePerCompany)
	}
	if c.JobsPerTenant == 0 {
		c.JobsPerTenant = max(1, c.PeoplePerTenant/peoplePerJob)
	}
	if c.Now.IsZero() {
		c.Now = DefaultNow
	}
	c.Now = c.Now.UTC().Truncate(time.Second)
	return c, nil
}

// Phases draw from independent streams, so that e.g. more jobs do not
// change the people.
const (
	phaseCompanies uint64 = iota + 1
	phasePeople
	phaseJobs
	phasePipelines
	phaseNotes
	phaseActivities
	phaseTasks
)

type generator struct {
	ctx        context.Context
	cfg        Config
	tid        string
	sink       Sink
	now        time.Time
	tenantHash uint64
	owners     []crm.User
	canary     string

	companies    []company
	employers    []employer // where candidates work (not all are clients)
	people       []person
	candidates   []int   // indexes into people
	byFamily     [][]int // candidate indexes by family
	jobs         []job
	apps         []app
	emails       map[string]bool
	companyNames map[string]bool
	domains      map[string]bool
	notePlanted  bool
}

type company struct {
	id, name, domain string
	ind              int
	city             int
	owner            string
	created          time.Time
	contacts         []int // indexes into people
	jobs             []int
}

type employer struct{ name, domain string }

type person struct {
	id          string
	kind        crm.PersonKind
	first, last string
	family      int // -1 for HR contacts
	title       string
	skills      []string
	company     int // client company index, -1 if none
	employer    string
	city        int
	owner       string
	created     time.Time
}

type job struct {
	id, title string
	company   int
	family    int
	status    crm.JobStatus
	owner     string
	created   time.Time
	skills    []string
	hm        int // hiring manager person index, -1 if none
}

type app struct {
	id     string
	job    int
	person int
	stage  crm.Stage
	owner  string
	last   time.Time // planned time of the last stage change
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func (g *generator) rng(phase uint64) *rand.Rand {
	return rand.New(rand.NewPCG(splitmix(g.cfg.Seed^splitmix(phase)), splitmix(g.tenantHash+phase*0x632be59bd9b4e019)))
}

// --- small helpers ---

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func weighted(r *rand.Rand, weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := r.IntN(total)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	return len(weights) - 1
}

func chance(r *rand.Rand, p float64) bool { return r.Float64() < p }

// between returns a random duration in [lo, hi), in whole seconds (Now
// is truncated to seconds too, so every timestamp survives a database
// round trip unchanged).
func between(r *rand.Rand, lo, hi time.Duration) time.Duration {
	lo, hi = lo.Truncate(time.Second), hi.Truncate(time.Second)
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(r.Int64N(int64((hi-lo)/time.Second)))*time.Second
}

// notBefore returns the later of t and floor.
func notBefore(t, floor time.Time) time.Time {
	if t.Before(floor) {
		return floor
	}
	return t
}

const day = 24 * time.Hour

var (
	familyWeights   []int
	cultureWeights  []int
	cityWeights     []int
	industryWeights []int
	officeCities    []int // non-remote city indexes
)

func init() {
	for _, f := range families {
		familyWeights = append(familyWeights, f.weight)
	}
	for _, c := range cultures {
		cultureWeights = append(cultureWeights, c.weight)
	}
	for i, c := range cities {
		cityWeights = append(cityWeights, c.weight)
		if !c.remote {
			officeCities = append(officeCities, i)
		}
	}
	for _, ind := range industries {
		industryWeights = append(industryWeights, ind.weight)
	}
}

// fold lower-cases s and keeps ASCII letters and digits only, folding the
// accented letters of the name lists (see foldMap).
func fold(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		case r < unicode.MaxASCII:
			// drop spaces, hyphens, apostrophes
		default:
			b.WriteString(foldMap[r])
		}
	}
	return b.String()
}

func title2(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + " " + name
}

func (g *generator) owner(r *rand.Rand) string { return pick(r, g.owners).ID }

func (g *generator) check() error { return g.ctx.Err() }

func (g *generator) tick(at time.Time) {
	if g.cfg.SetClock != nil {
		g.cfg.SetClock(at)
	}
}

// --- companies ---

func (g *generator) companyName(r *rand.Rand, ind int) (name, domain string) {
	for try := 0; ; try++ {
		name = pick(r, companyPrefixes) + " " + pick(r, industries[ind].suffixes)
		if try >= maxCompanyRetries {
			name = fmt.Sprintf("%s %d", name, try)
		}
		domain = fold(name) + ".example"
		if !g.companyNames[name] && !g.domains[domain] {
			g.companyNames[name] = true
			g.domains[domain] = true
			return name, domain
		}
	}
}

func (g *generator) genCompanies() error {
	r := g.rng(phaseCompanies)
	for i := range g.cfg.CompaniesPerTenant {
		if err := g.check(); err != nil {
			return err
		}
		ind := weighted(r, industryWeights)
		name, domain := g.companyName(r, ind)
		ci := pick(r, officeCities)
		size := companySizes[weighted(r, companySizeWeights)]
		desc := fmt.Sprintf("%s is %s %s company based in %s, building %s.", name, article(sizeWords[size]),
			industryNoun(industries[ind].name), shortCity(ci), pick(r, industries[ind].builds))
		if chance(r, 0.5) {
			desc += " " + pick(r, []string{
				"Client since our first placement with them; pays invoices on time.",
				"Hiring is driven by a new funding round.",
				"Prefers candidates who can start within two months.",
				"Exclusive agreement for senior roles.",
				"Strong engineering culture, four-day interview loop.",
				"Hybrid policy: three days a week in the office.",
			})
		}
		if g.cfg.PlantCanaries && i == 0 {
			desc += " " + g.canary
		}
		created := g.now.Add(-between(r, 30*day, 3*365*day))
		c := company{name: name, domain: domain, ind: ind, city: ci, owner: g.owner(r), created: created}
		rec := crm.Company{
			TenantID: g.tid, Name: name, Domain: domain, Industry: industries[ind].name,
			Location: cities[ci].name, Size: size, Description: desc, OwnerID: c.owner,
			CreatedAt: created, UpdatedAt: created.Add(between(r, 0, g.now.Sub(created))),
		}
		g.tick(created)
		got, err := g.sink.CreateCompany(g.ctx, g.tid, rec)
		if err != nil {
			return fmt.Errorf("gen: create company %d: %w", i, err)
		}
		c.id = got.ID
		g.companies = append(g.companies, c)
	}
	// Employers of candidates: a pool of non-client companies.
	for range max(40, g.cfg.PeoplePerTenant/peoplePerCompany) {
		name, domain := g.companyName(r, weighted(r, industryWeights))
		g.employers = append(g.employers, employer{name, domain})
	}
	return nil
}

func article(word string) string {
	if strings.ContainsRune("aeiou", rune(word[0])) {
		return "an " + word
	}
	return "a " + word
}

func industryNoun(name string) string {
	if name == "SaaS" {
		return name
	}
	return strings.ToLower(name)
}

func shortCity(ci int) string {
	name, _, _ := strings.Cut(cities[ci].name, ",")
	return name
}

// --- people ---

func (g *generator) personName(r *rand.Rand) (first, last string) {
	c := cultures[weighted(r, cultureWeights)]
	first, last = pick(r, c.first), pick(r, c.last)
	if chance(r, 0.15) { // mixed heritage, marriage, diaspora
		last = pick(r, cultures[weighted(r, cultureWeights)].last)
	}
	return first, last
}

// uniqueEmail returns local@domain, or with a number appended to local if
// the address is taken.
func (g *generator) uniqueEmail(local, domain string) string {
	addr := local + "@" + domain
	for n := 2; g.emails[addr]; n++ {
		addr = fmt.Sprintf("%s%d@%s", local, n, domain)
	}
	g.emails[addr] = true
	return addr
}

func (g *generator) privateEmail(r *rand.Rand, first, last string) string {
	f, l := fold(first), fold(last)
	var local string
	switch x := r.IntN(10); {
	case x < 5:
		local = f + "." + l
	case x < 7:
		local = f + l
	case x < 8:
		local = f[:1] + "." + l
	case x < 9:
		local = f + "_" + l
	default:
		local = fmt.Sprintf("%s.%s%d", f, l, 70+r.IntN(35))
	}
	return g.uniqueEmail(local, pick(r, emailDomains))
}

func phone(r *rand.Rand) string {
	return fmt.Sprintf("+1 %s 555 01%02d", pick(r, areaCodes), r.IntN(100))
}

func (g *generator) skillsFor(r *rand.Rand, f family, t title, extra int) []string {
	skills := append([]string(nil), t.core...)
	pool := make([]string, 0, len(f.skills))
	for _, s := range f.skills {
		if !contains(t.core, s) {
			pool = append(pool, s)
		}
	}
	for i := 0; i < extra && i < len(pool); i++ {
		j := i + r.IntN(len(pool)-i)
		pool[i], pool[j] = pool[j], pool[i]
		skills = append(skills, pool[i])
	}
	return skills
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func (g *generator) genPeople() error {
	r := g.rng(phasePeople)
	n := g.cfg.PeoplePerTenant
	nContacts := int(math.Round(float64(n) * ContactShare))
	isContact := make([]bool, n)
	for i := range nContacts {
		isContact[i] = true
	}
	r.Shuffle(n, func(i, j int) { isContact[i], isContact[j] = isContact[j], isContact[i] })
	g.byFamily = make([][]int, len(families))
	contactNo := 0
	for i := range n {
		if err := g.check(); err != nil {
			return err
		}
		var p person
		var rec crm.Person
		if isContact[i] {
			ci := contactNo
			if ci >= len(g.companies) {
				ci = r.IntN(len(g.companies))
			}
			contactNo++
			p, rec = g.contact(r, ci)
		} else {
			p, rec = g.candidate(r)
		}
		if g.cfg.PlantCanaries {
			if i == 0 {
				rec.Headline += " · " + g.canary
			}
			if i == min(1, n-1) {
				rec.Skills = append(rec.Skills, g.canary)
			}
		}
		created := g.now.Add(-between(r, day, 2*365*day))
		if p.kind == crm.KindContact {
			created = notBefore(created, g.companies[p.company].created)
		}
		rec.CreatedAt, rec.UpdatedAt = created, created.Add(between(r, 0, g.now.Sub(created)))
		p.created = created
		g.tick(created)
		got, err := g.sink.CreatePerson(g.ctx, g.tid, rec)
		if err != nil {
			return fmt.Errorf("gen: create person %d: %w", i, err)
		}
		p.id = got.ID
		idx := len(g.people)
		g.people = append(g.people, p)
		if p.kind == crm.KindContact {
			g.companies[p.company].contacts = append(g.companies[p.company].contacts, idx)
		} else {
			g.candidates = append(g.candidates, idx)
			g.byFamily[p.family] = append(g.byFamily[p.family], idx)
		}
	}
	return nil
}

func (g *generator) candidate(r *rand.Rand) (person, crm.Person) {
	fi := weighted(r, familyWeights)
	f := families[fi]
	lvl := weighted(r, levelWeights)
	t := pick(r, f.titles)
	full := title2(f.prefixes[lvl], t.name)
	first, last := g.personName(r)
	ci := weighted(r, cityWeights)
	p := person{kind: crm.KindCandidate, first: first, last: last, family: fi, title: full, company: -1, city: ci, owner: g.owner(r)}
	empDomain := ""
	if chance(r, 0.25) {
		c := g.companies[r.IntN(len(g.companies))]
		p.employer, empDomain = c.name, c.domain
	} else {
		e := pick(r, g.employers)
		p.employer, empDomain = e.name, e.domain
	}
	p.skills = g.skillsFor(r, f, t, 2+r.IntN(6))
	var headline string
	switch x := r.IntN(10); {
	case x < 6:
		headline = full + " at " + p.employer
	case x < 8:
		headline = fmt.Sprintf("%s | %s, %s", full, p.skills[0], p.skills[len(p.skills)-1])
	case x < 9:
		headline = "Open to work: " + full
	default:
		headline = fmt.Sprintf("%s, %d+ years", full, yearsByLevel[lvl]+r.IntN(3))
	}
	emails := []string{g.privateEmail(r, first, last)}
	if chance(r, 0.2) {
		emails = append(emails, g.uniqueEmail(fold(first)+"."+fold(last), empDomain))
	}
	var phones []string
	if chance(r, 0.75) {
		phones = append(phones, phone(r))
		if chance(r, 0.1) {
			phones = append(phones, phone(r))
		}
	}
	tags := []string{f.name}
	for range r.IntN(3) {
		if t := pick(r, candidateTags); !contains(tags, t) {
			tags = append(tags, t)
		}
	}
	return p, crm.Person{
		TenantID: g.tid, Kind: crm.KindCandidate, FirstName: first, LastName: last, Headline: headline,
		Emails: emails, Phones: phones, Location: cities[ci].name, CurrentTitle: full, CurrentCompany: p.employer,
		Skills: append([]string(nil), p.skills...), Source: sources[weighted(r, sourceWeights)], Tags: tags, OwnerID: p.owner,
	}
}

func (g *generator) contact(r *rand.Rand, ci int) (person, crm.Person) {
	c := g.companies[ci]
	first, last := g.personName(r)
	p := person{kind: crm.KindContact, first: first, last: last, family: -1, company: ci, employer: c.name, owner: c.owner}
	tags := []string{"client"}
	if chance(r, 0.35) {
		p.title = pick(r, hrTitles)
		tags = append(tags, "hr")
	} else {
		p.family = weighted(r, industries[c.ind].hires[:])
		p.title = pick(r, families[p.family].managers)
		tags = append(tags, pick(r, contactTags[:4]))
	}
	p.city = c.city
	if chance(r, 0.15) {
		p.city = weighted(r, cityWeights)
	}
	emails := []string{g.uniqueEmail(fold(first)+"."+fold(last), c.domain)}
	var phones []string
	if chance(r, 0.9) {
		phones = []string{phone(r)}
	}
	return p, crm.Person{
		TenantID: g.tid, Kind: crm.KindContact, FirstName: first, LastName: last,
		Headline: p.title + " at " + c.name, Emails: emails, Phones: phones, Location: cities[p.city].name,
		CurrentTitle: p.title, CurrentCompany: c.name, CompanyID: c.id,
		Source: pick(r, []string{"referral", "event", "linkedin", "inbound"}), Tags: tags, OwnerID: p.owner,
	}
}

// --- jobs ---

func roundTo(x float64, unit int64) int64 {
	return int64(math.Round(x/float64(unit))) * unit
}

func (g *generator) genJobs() error {
	r := g.rng(phaseJobs)
	nc := len(g.companies)
	for i := range g.cfg.JobsPerTenant {
		if err := g.check(); err != nil {
			return err
		}
		// Skewed: a few key accounts have many jobs.
		u := r.Float64()
		cIdx := min(nc-1, int(float64(nc)*u*u))
		c := g.companies[cIdx]
		fi := weighted(r, industries[c.ind].hires[:])
		f := families[fi]
		lvl := weighted(r, levelWeights)
		t := pick(r, f.titles)
		full := title2(f.prefixes[lvl], t.name)
		loc := c.city
		switch x := r.IntN(20); {
		case x < 5:
			for j, ct := range cities {
				if ct.remote && ct.region == cities[c.city].region {
					loc = j
				}
			}
		case x < 7:
			loc = pick(r, officeCities)
		}
		ct := cities[loc]
		var smin, smax int64
		if chance(r, 0.88) {
			mid := float64(f.baseK[lvl]*1000) * ct.factor * ct.fx
			unit := int64(1000)
			if ct.fx > 3 {
				unit = 5000
			}
			smin, smax = roundTo(mid*0.9, unit), roundTo(mid*1.12, unit)
		}
		status := []crm.JobStatus{crm.JobOpen, crm.JobOnHold, crm.JobFilled, crm.JobClosed}[weighted(r, []int{70, 8, 14, 8})]
		skills := g.skillsFor(r, f, t, 2+r.IntN(3))
		desc := fmt.Sprintf("%s is looking for a %s to %s. Location: %s. Must have: %s. Nice to have: %s. %d+ years of relevant experience.",
			c.name, full, pick(r, f.duties), ct.name, strings.Join(skills[:len(skills)-1], ", "), skills[len(skills)-1], yearsByLevel[lvl])
		hm := -1
		var hmID string
		if len(c.contacts) > 0 && chance(r, 0.85) {
			hm = c.contacts[0]
			for _, pi := range c.contacts {
				if g.people[pi].family == fi {
					hm = pi
					break
				}
			}
			hmID = g.people[hm].id
		}
		owner := c.owner
		if chance(r, 0.3) {
			owner = g.owner(r)
		}
		created := notBefore(g.now.Add(-between(r, 2*day, PipelineDays*day)), c.created.Add(day))
		rec := crm.Job{
			TenantID: g.tid, CompanyID: c.id, Title: full, Status: status, Location: ct.name,
			SalaryMin: smin, SalaryMax: smax, Currency: ct.currency, Description: desc,
			HiringManagerID: hmID, OwnerID: owner, CreatedAt: created, UpdatedAt: created,
		}
		g.tick(created)
		got, err := g.sink.CreateJob(g.ctx, g.tid, rec)
		if err != nil {
			return fmt.Errorf("gen: create job %d: %w", i, err)
		}
		g.companies[cIdx].jobs = append(g.companies[cIdx].jobs, len(g.jobs))
		g.jobs = append(g.jobs, job{id: got.ID, title: full, company: cIdx, family: fi, status: status, owner: owner, created: created, skills: skills, hm: hm})
	}
	return nil
}

// --- pipelines ---

// step is one planned stage move.
type step struct {
	to     crm.Stage
	reason string
}

// funnel odds per active stage: advance, reject (else stay).
var funnel = map[crm.Stage][2]float64{
	crm.StageSourced:   {0.50, 0.30},
	crm.StageScreening: {0.50, 0.30},
	crm.StageInterview: {0.22, 0.55},
	crm.StageOffer:     {0.00, 0.50}, // hires are decided per job
}

var next = map[crm.Stage]crm.Stage{
	crm.StageSourced: crm.StageScreening, crm.StageScreening: crm.StageInterview,
	crm.StageInterview: crm.StageOffer, crm.StageOffer: crm.StageHired,
}

// plan simulates one application through the funnel.
func plan(r *rand.Rand) []step {
	var steps []step
	s := crm.StageSourced
	for {
		odds := funnel[s]
		x := r.Float64()
		switch {
		case x < odds[0]:
			s = next[s]
			steps = append(steps, step{to: s})
			continue
		case x < odds[0]+odds[1]:
			steps = append(steps, step{to: crm.StageRejected, reason: pick(r, rejectReasons[string(s)])})
			if (len(steps) == 1 || s == crm.StageScreening) && chance(r, 0.04) {
				// re-opened: the client changed its mind or the candidate came back
				steps = append(steps, step{to: crm.StageScreening})
			}
		}
		return steps
	}
}

// pickCandidates returns up to n distinct candidates, most from the family.
func (g *generator) pickCandidates(r *rand.Rand, fi, n int) []int {
	n = min(n, len(g.candidates))
	seen := make(map[int]bool, n)
	out := make([]int, 0, n)
	fam := g.byFamily[fi]
	for tries := 0; len(out) < n && tries < 20*n; tries++ {
		var pi int
		if len(fam) > 0 && chance(r, 0.8) {
			pi = pick(r, fam)
		} else {
			pi = pick(r, g.candidates)
		}
		if !seen[pi] {
			seen[pi] = true
			out = append(out, pi)
		}
	}
	for _, pi := range g.candidates { // tiny configs: fill up in order
		if len(out) >= n {
			break
		}
		if !seen[pi] {
			seen[pi] = true
			out = append(out, pi)
		}
	}
	return out
}

func (g *generator) genPipelines() error {
	r := g.rng(phasePipelines)
	for ji := range g.jobs {
		j := &g.jobs[ji]
		cands := g.pickCandidates(r, j.family, PipelineMin+r.IntN(PipelineMax-PipelineMin+1))
		plans := make([][]step, len(cands))
		hired := -1
		for k := range cands {
			plans[k] = plan(r)
			last := crm.StageSourced
			if p := plans[k]; len(p) > 0 {
				last = p[len(p)-1].to
			}
			if j.status == crm.JobFilled && hired < 0 && last == crm.StageOffer {
				plans[k] = append(plans[k], step{to: crm.StageHired})
				hired = k
			}
		}
		if j.status == crm.JobFilled && hired < 0 && len(cands) > 0 {
			hired = 0
			plans[0] = []step{{to: crm.StageScreening}, {to: crm.StageInterview}, {to: crm.StageOffer}, {to: crm.StageHired}}
		}
		if j.status == crm.JobFilled || j.status == crm.JobClosed {
			reason := "Position filled by another candidate"
			if j.status == crm.JobClosed {
				reason = "Role closed by the client"
			}
			for k := range plans {
				if k == hired {
					continue
				}
				last := crm.StageSourced
				if p := plans[k]; len(p) > 0 {
					last = p[len(p)-1].to
				}
				if last != crm.StageRejected && chance(r, 0.85) {
					plans[k] = append(plans[k], step{to: crm.StageRejected, reason: reason})
				}
			}
		}
		for k, pi := range cands {
			if err := g.runApplication(r, ji, pi, plans[k]); err != nil {
				return err
			}
		}
	}
	return nil
}

var stageActivity = map[crm.Stage]struct {
	kind crm.ActivityKind
	fmt  string
}{
	crm.StageScreening: {crm.ActivityCall, "Screening call about the %s role"},
	crm.StageInterview: {crm.ActivityMeeting, "Interview for %s"},
	crm.StageOffer:     {crm.ActivityCall, "Offer call for %s"},
	crm.StageHired:     {crm.ActivityEmail, "Sent signed contract for %s"},
	crm.StageRejected:  {crm.ActivityEmail, "Sent rejection for %s"},
}

func (g *generator) runApplication(r *rand.Rand, ji, pi int, steps []step) error {
	if err := g.check(); err != nil {
		return err
	}
	j := g.jobs[ji]
	p := g.people[pi]
	c := g.companies[j.company]
	owner := j.owner
	// Planned times: added after the job opened, then 1-10 days per move,
	// never after Now. MoveStage takes no time: the store stamps the
	// history itself, so these reach the history only through SetClock.
	span := g.now.Sub(j.created)
	at := notBefore(j.created.Add(between(r, 0, min(span, 30*day))), p.created.Add(time.Hour))
	times := make([]time.Time, len(steps))
	prev := at
	for k := range steps {
		t := prev.Add(between(r, day, 10*day))
		if t.After(g.now) { // squeeze late moves into the last hour
			t = notBefore(g.now.Add(-between(r, time.Minute, time.Hour)), prev)
		}
		times[k], prev = t, t
	}
	a := crm.Application{TenantID: g.tid, JobID: j.id, PersonID: p.id, Stage: crm.StageSourced, OwnerID: owner, CreatedAt: at, UpdatedAt: at}
	g.tick(at)
	got, err := g.sink.AddToPipeline(g.ctx, g.tid, a)
	if err != nil {
		return fmt.Errorf("gen: add person %d to job %d: %w", pi, ji, err)
	}
	rec := app{id: got.ID, job: ji, person: pi, stage: crm.StageSourced, owner: owner, last: at}
	if chance(r, 0.6) {
		if err := g.logActivity(crm.Activity{
			Kind: crm.ActivityEmail, PersonID: p.id, JobID: j.id, OccurredAt: at, UserID: owner,
			Summary: fmt.Sprintf("Outreach email to %s about %s at %s", p.first, j.title, c.name),
		}); err != nil {
			return err
		}
	}
	for k, s := range steps {
		g.tick(times[k])
		if _, err := g.sink.MoveStage(g.ctx, g.tid, rec.id, s.to, owner, s.reason); err != nil {
			return fmt.Errorf("gen: move application of person %d in job %d to %s: %w", pi, ji, s.to, err)
		}
		rec.stage, rec.last = s.to, times[k]
		if sa, ok := stageActivity[s.to]; ok && chance(r, 0.7) {
			if err := g.logActivity(crm.Activity{
				Kind: sa.kind, PersonID: p.id, JobID: j.id, OccurredAt: times[k], UserID: owner,
				Summary: fmt.Sprintf(sa.fmt, j.title),
			}); err != nil {
				return err
			}
		}
		if body := stageNote(r, s, p, j, c); body != "" && chance(r, 0.45) {
			if err := g.addNote(crm.Note{PersonID: p.id, JobID: j.id, Body: body, AuthorID: owner, CreatedAt: g.notAfterNow(times[k].Add(between(r, time.Minute, 3*time.Hour)))}); err != nil {
				return err
			}
		}
	}
	g.apps = append(g.apps, rec)
	return nil
}

func stageNote(r *rand.Rand, s step, p person, j job, c company) string {
	sk := pick(r, p.skills)
	switch s.to {
	case crm.StageScreening:
		return pick(r, []string{
			fmt.Sprintf("Screened %s: strong %s background, notice period %s.", p.first, sk, pick(r, noticePeriods)),
			fmt.Sprintf("%s is interested in %s; wants more ownership than at %s.", p.first, c.name, p.employer),
			fmt.Sprintf("Good call. %s asked about remote flexibility and the team size.", p.first),
		})
	case crm.StageInterview:
		return pick(r, []string{
			fmt.Sprintf("Interview feedback for %s: solid on %s, weaker on system-level questions.", j.title, sk),
			fmt.Sprintf("Panel liked %s's communication; second round booked.", p.first),
			fmt.Sprintf("Technical round passed. Hiring manager wants to dig into %s experience.", sk),
		})
	case crm.StageOffer:
		return fmt.Sprintf("Verbal offer made to %s; waiting for a decision by Friday.", p.first)
	case crm.StageHired:
		return fmt.Sprintf("%s accepted! Start date agreed with %s. Invoice the placement fee.", p.first, c.name)
	case crm.StageRejected:
		return fmt.Sprintf("Closed out: %s.", strings.ToLower(s.reason))
	}
	return ""
}

// --- notes, activities, tasks ---

func (g *generator) addNote(n crm.Note) error {
	if err := g.check(); err != nil {
		return err
	}
	n.TenantID = g.tid
	if g.cfg.PlantCanaries && !g.notePlanted {
		n.Body += " " + g.canary
		g.notePlanted = true
	}
	g.tick(n.CreatedAt)
	if _, err := g.sink.AddNote(g.ctx, g.tid, n); err != nil {
		return fmt.Errorf("gen: add note: %w", err)
	}
	return nil
}

func (g *generator) logActivity(a crm.Activity) error {
	if err := g.check(); err != nil {
		return err
	}
	a.TenantID = g.tid
	a.CreatedAt = a.OccurredAt
	g.tick(a.OccurredAt)
	if _, err := g.sink.LogActivity(g.ctx, g.tid, a); err != nil {
		return fmt.Errorf("gen: log activity: %w", err)
	}
	return nil
}

func (g *generator) notAfterNow(t time.Time) time.Time {
	if t.After(g.now) {
		return g.now
	}
	return t
}

func (g *generator) recent(r *rand.Rand) time.Time {
	return g.now.Add(-between(r, time.Hour, PipelineDays*day))
}

func (g *generator) genNotes() error {
	r := g.rng(phaseNotes)
	for _, c := range g.companies {
		ind := industries[c.ind]
		for range 1 + r.IntN(3) {
			body := pick(r, []string{
				fmt.Sprintf("Account review: %s plans to hire %d people this year, mostly %s.", c.name, 3+r.IntN(40), families[weighted(r, ind.hires[:])].name),
				fmt.Sprintf("Fee agreed at %d%% of first-year base salary, %d-day guarantee.", 15+r.IntN(11), []int{60, 90, 90, 180}[r.IntN(4)]),
				"Slow feedback loop last quarter; agreed a 48-hour SLA on CVs.",
				fmt.Sprintf("New office opening in %s; expect more roles there.", shortCity(pick(r, officeCities))),
				"Prefers shortlists of three, with a short write-up per candidate.",
				"Procurement asked for our updated terms and a data-processing agreement.",
			})
			if err := g.addNote(crm.Note{CompanyID: c.id, Body: body, AuthorID: c.owner, CreatedAt: notBefore(g.recent(r), c.created)}); err != nil {
				return err
			}
		}
	}
	for _, j := range g.jobs {
		if !chance(r, 0.8) {
			continue
		}
		body := pick(r, []string{
			fmt.Sprintf("Kick-off done. Must-haves: %s. Interview loop: screen, technical, final.", strings.Join(j.skills[:min(2, len(j.skills))], ", ")),
			"Client raised the budget by 5% after two declined offers.",
			"Hiring manager is flexible on location for the right person.",
			fmt.Sprintf("Ad posted on two job boards; referral bonus offered for %s.", j.title),
		})
		if err := g.addNote(crm.Note{JobID: j.id, CompanyID: g.companies[j.company].id, Body: body, AuthorID: j.owner, CreatedAt: j.created.Add(between(r, time.Hour, 2*day))}); err != nil {
			return err
		}
	}
	for _, pi := range g.candidates {
		if !chance(r, 0.3) {
			continue
		}
		p := g.people[pi]
		body := pick(r, []string{
			fmt.Sprintf("Spoke with %s: happy at %s but open to the right %s role. Notice period %s.", p.first, p.employer, families[p.family].name, pick(r, noticePeriods)),
			fmt.Sprintf("%s prefers %s or remote.", p.first, shortCity(p.city)),
			fmt.Sprintf("Strong %s; wants to grow towards %s.", pick(r, p.skills), pick(r, p.skills)),
			fmt.Sprintf("Not looking right now, re-engage in Q%d.", 1+r.IntN(4)),
			fmt.Sprintf("Met %s at %s. Follow up with relevant roles.", p.first, pick(r, eventNames)),
			"Referred by a placed candidate. Prioritise.",
		})
		if err := g.addNote(crm.Note{PersonID: p.id, Body: body, AuthorID: p.owner, CreatedAt: notBefore(g.recent(r), p.created)}); err != nil {
			return err
		}
	}
	return nil
}

func (g *generator) genActivities() error {
	r := g.rng(phaseActivities)
	for _, c := range g.companies {
		for _, pi := range c.contacts {
			p := g.people[pi]
			for range r.IntN(4) {
				kind := []crm.ActivityKind{crm.ActivityCall, crm.ActivityEmail, crm.ActivityMeeting}[r.IntN(3)]
				summary := map[crm.ActivityKind][]string{
					crm.ActivityCall:    {"Intro call with %s about hiring plans", "Check-in call with %s on open roles", "Call with %s to calibrate the shortlist"},
					crm.ActivityEmail:   {"Sent candidate shortlist to %s", "Emailed %s our updated terms", "Followed up with %s on interview feedback"},
					crm.ActivityMeeting: {"Quarterly account review with %s", "Lunch with %s at their office", "Workshop with %s on the hiring process"},
				}[kind]
				a := crm.Activity{Kind: kind, PersonID: p.id, OccurredAt: notBefore(g.recent(r), p.created), UserID: c.owner, Summary: fmt.Sprintf(pick(r, summary), p.first)}
				if len(c.jobs) > 0 && chance(r, 0.4) {
					a.JobID = g.jobs[pick(r, c.jobs)].id
				}
				if err := g.logActivity(a); err != nil {
					return err
				}
			}
		}
	}
	for _, pi := range g.candidates {
		if !chance(r, 0.12) {
			continue
		}
		p := g.people[pi]
		a := crm.Activity{Kind: crm.ActivityEmail, PersonID: p.id, OccurredAt: notBefore(g.recent(r), p.created), UserID: p.owner,
			Summary: pick(r, []string{"Sent a LinkedIn InMail about new openings", "Replied to an inbound application", "Shared salary benchmark for " + families[p.family].name + " roles"})}
		if chance(r, 0.3) {
			a.Kind, a.Summary = crm.ActivityCall, "Catch-up call, "+pick(r, []string{"no change in situation", "now actively looking", "asked to be contacted in three months"})
		}
		if err := g.logActivity(a); err != nil {
			return err
		}
	}
	return nil
}

func (g *generator) genTasks() error {
	r := g.rng(phaseTasks)
	n := max(1, g.cfg.PeoplePerTenant/peoplePerTask)
	var active []int // applications still in play
	for i, a := range g.apps {
		if a.stage != crm.StageHired && a.stage != crm.StageRejected {
			active = append(active, i)
		}
	}
	for i := range n {
		if err := g.check(); err != nil {
			return err
		}
		t := crm.Task{TenantID: g.tid}
		var after time.Time // an application task follows its last stage change
		switch x := r.IntN(10); {
		case x < 6 && len(active) > 0:
			a := g.apps[pick(r, active)]
			p, j := g.people[a.person], g.jobs[a.job]
			t.PersonID, t.JobID, t.AssigneeID = p.id, j.id, a.owner
			after = a.last
			t.Title = fmt.Sprintf(pick(r, map[crm.Stage][]string{
				crm.StageSourced:   {"Follow up with %s %s about %s", "Send the %[3]s job description to %[1]s %[2]s"},
				crm.StageScreening: {"Book a screening call with %s %s (%s)", "Submit %s %s's CV for %s"},
				crm.StageInterview: {"Collect interview feedback on %s %s for %s", "Prep %s %s for the final round of %s"},
				crm.StageOffer:     {"Chase references for %s %s (%s)", "Send offer pack to %s %s for %s"},
			}[a.stage]), p.first, p.last, j.title)
		case x < 8:
			c := g.companies[r.IntN(len(g.companies))]
			t.AssigneeID = c.owner
			if len(c.contacts) > 0 {
				p := g.people[pick(r, c.contacts)]
				t.PersonID = p.id
				t.Title = fmt.Sprintf("Call %s %s at %s about new roles", p.first, p.last, c.name)
			} else {
				t.Title = fmt.Sprintf("Find the hiring manager at %s", c.name)
			}
		default:
			t.AssigneeID = g.owner(r)
			if len(g.jobs) > 0 && chance(r, 0.6) {
				j := g.jobs[r.IntN(len(g.jobs))]
				t.JobID = j.id
				t.Title = fmt.Sprintf(pick(r, []string{"Refresh the job ad for %s", "Review inbound applications for %s", "Agree interview slots for %s"}), j.title)
			} else {
				t.Title = pick(r, []string{"Prepare the weekly pipeline report", "Clean up duplicate candidate records", "Update fee agreements folder"})
			}
		}
		done := false
		switch x := r.IntN(100); {
		case x < 35: // done
			done = true
			t.DueAt = g.now.Add(-between(r, day, 60*day))
		case x < 55: // overdue
			t.DueAt = g.now.Add(-between(r, time.Hour, 21*day))
		case x < 65: // no due date
		default:
			t.DueAt = g.now.Add(between(r, time.Hour, 30*day))
		}
		t.CreatedAt = g.now.Add(-between(r, time.Hour, 14*day))
		if !t.DueAt.IsZero() {
			t.CreatedAt = t.DueAt.Add(-between(r, time.Hour, 14*day))
			if t.CreatedAt.After(g.now) {
				t.CreatedAt = g.now
			}
		}
		if t.CreatedAt.Before(after) {
			t.CreatedAt = after
			if !t.DueAt.IsZero() && t.DueAt.Before(after) {
				t.DueAt = after.Add(between(r, time.Hour, 5*day))
			}
		}
		g.tick(t.CreatedAt)
		got, err := g.sink.CreateTask(g.ctx, g.tid, t)
		if err != nil {
			return fmt.Errorf("gen: create task %d: %w", i, err)
		}
		if done {
			// completed around the due date, after creation, not after Now
			completed := notBefore(t.DueAt.Add(between(r, -3*day, day)), t.CreatedAt.Add(time.Hour))
			g.tick(g.notAfterNow(completed))
			if _, err := g.sink.CompleteTask(g.ctx, g.tid, got.ID, t.AssigneeID); err != nil {
				return fmt.Errorf("gen: complete task %d: %w", i, err)
			}
		}
	}
	return nil
}
