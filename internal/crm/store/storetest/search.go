package storetest

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/crm"
)

// searchWorld is a small population of tenant 1 (and look-alikes in tenant
// 2) for the search tests.
type searchWorld struct {
	ada, bob, cyd, dee, eve crm.Person
	job, job2               crm.Job
	foreign                 crm.Person
}

func newSearchWorld(e *env) searchWorld {
	var w searchWorld
	c := e.company(e.t1, func(c *crm.Company) { c.Name = "Initech" })
	w.ada = e.person(e.t1, func(p *crm.Person) {
		p.FirstName, p.LastName, p.Headline = "Ada", "Quixote", "Senior Golang engineer"
		p.Location, p.Skills, p.CurrentTitle, p.CurrentCompany = "Berlin, DE", []string{"Go", "PostgreSQL", "Kubernetes"}, "Backend Lead", "Initech"
	})
	w.bob = e.person(e.t1, func(p *crm.Person) {
		p.FirstName, p.LastName, p.Headline = "Bob", "Marley", "Frontend developer"
		p.Location, p.Skills, p.CurrentTitle = "berlin", []string{"TypeScript", "go"}, "Developer"
		p.OwnerID = e.u1.ID
	})
	w.cyd = e.person(e.t1, func(p *crm.Person) {
		p.FirstName, p.LastName, p.Headline = "Cyd", "Charisse", "Data scientist"
		p.Location, p.Skills = "Munich", []string{"Python", "PostgreSQL"}
	})
	w.dee = e.person(e.t1, func(p *crm.Person) {
		p.Kind, p.FirstName, p.LastName, p.CompanyID = crm.KindContact, "Dee", "Snider", c.ID
		p.Headline, p.Location = "Head of Engineering", "Berlin-Mitte"
	})
	w.eve = e.person(e.t1, func(p *crm.Person) {
		p.FirstName, p.LastName, p.Location = "Eve", "Online", "Hamburg"
		p.Skills = []string{"Golang"}
	})
	w.job = e.job(e.t1, c.ID, func(j *crm.Job) { j.Title = "Go Developer" })
	w.job2 = e.job(e.t1, c.ID, func(j *crm.Job) { j.Title = "Data Lead" })
	a := e.app(e.t1, w.job.ID, w.ada.ID)
	e.move(e.t1, a.ID, crm.StageInterview, "")
	e.app(e.t1, w.job.ID, w.bob.ID)
	b := e.app(e.t1, w.job2.ID, w.cyd.ID)
	e.move(e.t1, b.ID, crm.StageInterview, "")
	// Tenant 2 has look-alikes that must never show up.
	w.foreign = e.person(e.t2, func(p *crm.Person) {
		p.FirstName, p.LastName, p.Headline = "Ada", "Quixote "+e.canary, "Senior Golang engineer"
		p.Location, p.Skills, p.OwnerID = "Berlin, DE", []string{"Go", "PostgreSQL", e.canary}, e.u2.ID
	})
	c2 := e.company(e.t2, nil)
	j2 := e.job(e.t2, c2.ID, nil)
	a2 := e.app(e.t2, j2.ID, w.foreign.ID)
	e.move(e.t2, a2.ID, crm.StageInterview, "")
	return w
}

func (e *env) search(q crm.PeopleQuery) crm.SearchResult {
	e.t.Helper()
	res, err := e.s.SearchPeople(e.ctx, e.t1, q)
	e.must(err, "SearchPeople")
	if len(res.IDs) > res.Total {
		e.t.Errorf("SearchPeople(%+v): %d ids but total %d", q, len(res.IDs), res.Total)
	}
	return res
}

// sameSet compares id lists ignoring order.
func sameSet(e *env, what string, want, got []string) {
	e.t.Helper()
	w, g := slices.Clone(want), slices.Clone(got)
	slices.Sort(w)
	slices.Sort(g)
	if !slices.Equal(w, g) {
		e.t.Errorf("%s: ids (-want +got):\n-%v\n+%v", what, w, g)
	}
}

var searchPeopleTests = []test{
	{"filters", func(e *env) {
		w := newSearchWorld(e)
		all := []string{w.ada.ID, w.bob.ID, w.cyd.ID, w.dee.ID, w.eve.ID}
		for _, tc := range []struct {
			name string
			q    crm.PeopleQuery
			want []string
		}{
			{"everything", crm.PeopleQuery{}, all},
			{"kind contact", crm.PeopleQuery{Kind: crm.KindContact}, []string{w.dee.ID}},
			{"kind candidate", crm.PeopleQuery{Kind: crm.KindCandidate}, []string{w.ada.ID, w.bob.ID, w.cyd.ID, w.eve.ID}},
			{"location substring any case", crm.PeopleQuery{Location: "BERL"}, []string{w.ada.ID, w.bob.ID, w.dee.ID}},
			{"location percent is literal", crm.PeopleQuery{Location: "%"}, nil},
			{"location underscore is literal", crm.PeopleQuery{Location: "_"}, nil},
			{"location short", crm.PeopleQuery{Location: "de"}, []string{w.ada.ID}},
			{"location mid-word", crm.PeopleQuery{Location: "ERLIN"}, []string{w.ada.ID, w.bob.ID, w.dee.ID}},
			{"location no match", crm.PeopleQuery{Location: "paris"}, nil},
			{"location and kind", crm.PeopleQuery{Location: "berlin", Kind: crm.KindContact}, []string{w.dee.ID}},
			{"location and owner", crm.PeopleQuery{Location: "berl", OwnerID: e.u1.ID}, []string{w.bob.ID}},
			{"location and stage", crm.PeopleQuery{Location: "erlin", Stage: crm.StageInterview}, []string{w.ada.ID}},
			{"location and updated since", crm.PeopleQuery{Location: "berlin", UpdatedSince: w.cyd.UpdatedAt}, []string{w.dee.ID}},
			{"skill exact any case", crm.PeopleQuery{Skills: []string{"GO"}}, []string{w.ada.ID, w.bob.ID}},
			{"skills all of", crm.PeopleQuery{Skills: []string{"go", "postgresql"}}, []string{w.ada.ID}},
			{"skill no prefix match", crm.PeopleQuery{Skills: []string{"Postgres"}}, nil},
			{"stage", crm.PeopleQuery{Stage: crm.StageInterview}, []string{w.ada.ID, w.cyd.ID}},
			{"job", crm.PeopleQuery{JobID: w.job.ID}, []string{w.ada.ID, w.bob.ID}},
			{"job and stage same application", crm.PeopleQuery{JobID: w.job.ID, Stage: crm.StageSourced}, []string{w.bob.ID}},
			{"job and stage no match", crm.PeopleQuery{JobID: w.job2.ID, Stage: crm.StageSourced}, nil},
			{"foreign job", crm.PeopleQuery{JobID: randomID("job")}, nil},
			{"owner", crm.PeopleQuery{OwnerID: e.u1.ID}, []string{w.bob.ID}},
			{"foreign owner", crm.PeopleQuery{OwnerID: e.u2.ID}, nil},
			{"updated since inclusive", crm.PeopleQuery{UpdatedSince: w.cyd.UpdatedAt}, []string{w.cyd.ID, w.dee.ID, w.eve.ID}},
			{"combined", crm.PeopleQuery{Location: "berlin", Skills: []string{"go"}, Stage: crm.StageSourced}, []string{w.bob.ID}},
		} {
			res := e.search(tc.q)
			sameSet(e, tc.name, tc.want, res.IDs)
			if res.Total != len(tc.want) {
				e.t.Errorf("%s: total %d, want %d", tc.name, res.Total, len(tc.want))
			}
		}
	}},
	{"order without text", func(e *env) {
		w := newSearchWorld(e)
		res := e.search(crm.PeopleQuery{})
		equalIDs(e, "UpdatedAt desc", []string{w.eve.ID, w.dee.ID, w.cyd.ID, w.bob.ID, w.ada.ID}, res.IDs)
		res = e.search(crm.PeopleQuery{Location: "berl"})
		equalIDs(e, "location alone, UpdatedAt desc", []string{w.dee.ID, w.bob.ID, w.ada.ID}, res.IDs)
		e.clk.Advance(time.Minute)
		_, err := e.s.UpdatePerson(e.ctx, e.t1, w.bob.ID, crm.PersonPatch{Headline: ptr("Moved up")})
		e.must(err, "UpdatePerson")
		res = e.search(crm.PeopleQuery{})
		equalIDs(e, "after update", []string{w.bob.ID, w.eve.ID, w.dee.ID, w.cyd.ID, w.ada.ID}, res.IDs)
		res = e.search(crm.PeopleQuery{Location: "berl"})
		equalIDs(e, "location alone, after update", []string{w.bob.ID, w.dee.ID, w.ada.ID}, res.IDs)
	}},
	{"limit and total", func(e *env) {
		w := newSearchWorld(e)
		for _, tc := range []struct {
			name  string
			limit int
			n     int
		}{{"two", 2, 2}, {"one", 1, 1}, {"zero is max", 0, 5}, {"negative is max", -3, 5}, {"huge is max", crm.MaxLimit * 10, 5}} {
			res := e.search(crm.PeopleQuery{Limit: tc.limit})
			if len(res.IDs) != tc.n || res.Total != 5 {
				e.t.Errorf("%s: %d ids, total %d; want %d, 5", tc.name, len(res.IDs), res.Total, tc.n)
			}
		}
		res := e.search(crm.PeopleQuery{Limit: 2})
		equalIDs(e, "first page is the head of the order", []string{w.eve.ID, w.dee.ID}, res.IDs)
		res = e.search(crm.PeopleQuery{Location: "BERLIN", Limit: 2})
		equalIDs(e, "location alone, first page", []string{w.dee.ID, w.bob.ID}, res.IDs)
		if res.Total != 3 {
			e.t.Errorf("location alone, limited: total %d, want 3", res.Total)
		}
		res = e.search(crm.PeopleQuery{Text: "postgresql", Limit: 1})
		if len(res.IDs) != 1 || res.Total != 2 {
			e.t.Errorf("text limit: %d ids, total %d; want 1, 2", len(res.IDs), res.Total)
		}
	}},
	{"text fields", func(e *env) {
		w := newSearchWorld(e)
		for _, tc := range []struct {
			name, text string
			want       []string
		}{
			{"first name", "cyd", []string{w.cyd.ID}},
			{"last name any case", "QUIXOTE", []string{w.ada.ID}},
			{"headline", "scientist", []string{w.cyd.ID}},
			{"skill", "kubernetes", []string{w.ada.ID}},
			{"current title", "backend", []string{w.ada.ID}},
			{"current company", "initech", []string{w.ada.ID}},
			{"all words must match", "golang senior", []string{w.ada.ID}},
			{"words across fields", "ada kubernetes", []string{w.ada.ID}},
			{"one word missing", "ada python", nil},
			{"unknown word", "zyzzyva", nil},
			{"foreign-only text", e.canary, nil},
		} {
			res := e.search(crm.PeopleQuery{Text: tc.text})
			sameSet(e, tc.name, tc.want, res.IDs)
			if res.Total != len(tc.want) {
				e.t.Errorf("%s: total %d, want %d", tc.name, res.Total, len(tc.want))
			}
		}
	}},
	{"text with filters", func(e *env) {
		w := newSearchWorld(e)
		res := e.search(crm.PeopleQuery{Text: "postgresql", Location: "munich"})
		equalIDs(e, "text+location", []string{w.cyd.ID}, res.IDs)
		res = e.search(crm.PeopleQuery{Text: "postgresql", Stage: crm.StageInterview, JobID: w.job.ID})
		equalIDs(e, "text+stage+job", []string{w.ada.ID}, res.IDs)
		res = e.search(crm.PeopleQuery{Text: "engineering", Kind: crm.KindContact})
		equalIDs(e, "text+kind", []string{w.dee.ID}, res.IDs)
	}},
	{"text with location", func(e *env) {
		// The text's matches narrowed by a location substring, which may
		// cover several distinct locations, start mid-word, hold query
		// syntax, or change with an update.
		w := newSearchWorld(e)
		odd := e.person(e.t1, func(p *crm.Person) {
			p.FirstName, p.LastName, p.Location, p.Skills = "Fay", "Wray", `Köln "Ost" (AND) *`, []string{"Go"}
		})
		for _, tc := range []struct {
			name string
			q    crm.PeopleQuery
			want []string
		}{
			{"two locations contain it", crm.PeopleQuery{Text: "go", Location: "BERLIN"}, []string{w.ada.ID, w.bob.ID}},
			{"mid-word", crm.PeopleQuery{Text: "go", Location: "erli"}, []string{w.ada.ID, w.bob.ID}},
			{"punctuation", crm.PeopleQuery{Text: "head", Location: "berlin-mi"}, []string{w.dee.ID}},
			{"one of them", crm.PeopleQuery{Text: "go", Location: ", de"}, []string{w.ada.ID}},
			{"no such location", crm.PeopleQuery{Text: "go", Location: "paris"}, nil},
			{"location without the text", crm.PeopleQuery{Text: "go", Location: "munich"}, nil},
			{"query syntax is plain text", crm.PeopleQuery{Text: "go", Location: `"ost" (and) *`}, []string{odd.ID}},
			{"syntax that matches nothing", crm.PeopleQuery{Text: "go", Location: `ost" OR "`}, nil},
			// Under three characters, and around non-ASCII letters
			// (PostgreSQL narrows by 3-character windows first).
			{"two characters", crm.PeopleQuery{Text: "go", Location: "DE"}, []string{w.ada.ID}},
			{"one character", crm.PeopleQuery{Text: "go", Location: "k"}, []string{odd.ID}},
			{"non-ASCII", crm.PeopleQuery{Text: "go", Location: "Köln"}, []string{odd.ID}},
			{"non-ASCII mid-word", crm.PeopleQuery{Text: "go", Location: "öl"}, []string{odd.ID}},
			{"skills in it", crm.PeopleQuery{Skills: []string{"go"}, Location: "ERLI"}, []string{w.ada.ID, w.bob.ID}},
			{"skills in it, short", crm.PeopleQuery{Skills: []string{"go"}, Location: "de"}, []string{w.ada.ID}},
			{"skills elsewhere", crm.PeopleQuery{Skills: []string{"go"}, Location: "munich"}, nil},
			{"text, skills and location", crm.PeopleQuery{Text: "engineer", Skills: []string{"go"}, Location: "berlin"}, []string{w.ada.ID}},
			{"the location is not searched as text", crm.PeopleQuery{Text: "munich"}, nil},
		} {
			res := e.search(tc.q)
			sameSet(e, tc.name, tc.want, res.IDs)
			if res.Total != len(tc.want) {
				e.t.Errorf("%s: total %d, want %d", tc.name, res.Total, len(tc.want))
			}
		}
		_, err := e.s.UpdatePerson(e.ctx, e.t1, w.bob.ID, crm.PersonPatch{Location: ptr("Munich")})
		e.must(err, "UpdatePerson")
		sameSet(e, "moved away", []string{w.ada.ID}, e.search(crm.PeopleQuery{Text: "go", Location: "berlin"}).IDs)
		sameSet(e, "moved here", []string{w.bob.ID}, e.search(crm.PeopleQuery{Text: "go", Location: "munich"}).IDs)
		_, err = e.s.UpdatePerson(e.ctx, e.t1, w.bob.ID, crm.PersonPatch{Location: ptr("")})
		e.must(err, "UpdatePerson")
		sameSet(e, "no location", nil, e.search(crm.PeopleQuery{Text: "go", Location: "munich"}).IDs)
		sameSet(e, "still found by text", []string{w.ada.ID, w.bob.ID, odd.ID}, e.search(crm.PeopleQuery{Text: "go"}).IDs)
	}},
	{"a location many places contain", func(e *env) {
		// More distinct locations than a backend may expand a filter to
		// (SQLite: 32) give the same answer as a few, with text or not.
		var all, tens []string
		for i := range 45 {
			p := e.person(e.t1, func(p *crm.Person) {
				p.FirstName, p.LastName, p.Location = "Zed", "Zither", fmt.Sprintf("Town %d", i)
			})
			all = append(all, p.ID)
			if i >= 10 && i < 20 || i == 1 {
				tens = append(tens, p.ID)
			}
		}
		e.person(e.t2, func(p *crm.Person) { p.FirstName, p.LastName, p.Location = "Zed", "Zither "+e.canary, "Town 1" })
		for _, tc := range []struct {
			name string
			q    crm.PeopleQuery
			want []string
		}{
			{"45 locations", crm.PeopleQuery{Text: "zither", Location: "town"}, all},
			{"11 locations", crm.PeopleQuery{Text: "zither", Location: "town 1"}, tens},
			{"45 locations, limited", crm.PeopleQuery{Text: "zither", Location: "TOWN", Limit: 5}, nil},
			{"45 locations, no text", crm.PeopleQuery{Location: "town"}, all},
			{"11 locations, no text", crm.PeopleQuery{Location: "town 1"}, tens},
			{"45 locations, no text, limited", crm.PeopleQuery{Location: "Town", Limit: 5}, nil},
		} {
			res := e.search(tc.q)
			if tc.q.Limit != 0 {
				if len(res.IDs) != 5 || res.Total != 45 {
					e.t.Errorf("%s: %d ids, total %d; want 5, 45", tc.name, len(res.IDs), res.Total)
				}
				continue
			}
			sameSet(e, tc.name, tc.want, res.IDs)
			if res.Total != len(tc.want) {
				e.t.Errorf("%s: total %d, want %d", tc.name, res.Total, len(tc.want))
			}
		}
	}},
	{"notes find the person", func(e *env) {
		w := newSearchWorld(e)
		res := e.search(crm.PeopleQuery{Text: "saxophonist"})
		equalIDs(e, "before note", nil, res.IDs)
		_, err := e.s.AddNote(e.ctx, e.t1, crm.Note{PersonID: w.eve.ID, Body: "Great call; she is also a jazz saxophonist.", AuthorID: e.u1.ID})
		e.must(err, "AddNote")
		_, err = e.s.AddNote(e.ctx, e.t1, crm.Note{JobID: w.job.ID, Body: "Hiring manager wants a trombonist"})
		e.must(err, "AddNote job")
		res = e.search(crm.PeopleQuery{Text: "saxophonist"})
		equalIDs(e, "after note", []string{w.eve.ID}, res.IDs)
		res = e.search(crm.PeopleQuery{Text: "jazz eve"})
		equalIDs(e, "note and name", []string{w.eve.ID}, res.IDs)
		res = e.search(crm.PeopleQuery{Text: "trombonist"})
		equalIDs(e, "a job note finds nobody", nil, res.IDs)
		// A foreign note about a look-alike never matches in tenant 1.
		_, err = e.s.AddNote(e.ctx, e.t2, crm.Note{PersonID: w.foreign.ID, Body: "oboist " + e.canary})
		e.must(err, "AddNote t2")
		res = e.search(crm.PeopleQuery{Text: "oboist"})
		equalIDs(e, "foreign note", nil, res.IDs)
	}},
	{"update reindexes", func(e *env) {
		w := newSearchWorld(e)
		_, err := e.s.UpdatePerson(e.ctx, e.t1, w.cyd.ID, crm.PersonPatch{Headline: ptr("Astronomer"), Skills: &[]string{"Telescopes"}})
		e.must(err, "UpdatePerson")
		sameSet(e, "new headline", []string{w.cyd.ID}, e.search(crm.PeopleQuery{Text: "astronomer"}).IDs)
		sameSet(e, "old headline gone", nil, e.search(crm.PeopleQuery{Text: "scientist"}).IDs)
		sameSet(e, "new skill text", []string{w.cyd.ID}, e.search(crm.PeopleQuery{Text: "telescopes"}).IDs)
		sameSet(e, "new skill filter", []string{w.cyd.ID}, e.search(crm.PeopleQuery{Skills: []string{"telescopes"}}).IDs)
		sameSet(e, "old skill gone", nil, e.search(crm.PeopleQuery{Skills: []string{"python"}}).IDs)
	}},
	{"ranking", func(e *env) {
		inNote := e.person(e.t1, func(p *crm.Person) { p.FirstName, p.LastName = "Noel", "Notes" })
		_, err := e.s.AddNote(e.ctx, e.t1, crm.Note{PersonID: inNote.ID, Body: "Said she knows a Zanzibar recruiter, long story about a trip last summer."})
		e.must(err, "AddNote")
		inName := e.person(e.t1, func(p *crm.Person) { p.FirstName, p.LastName = "Zanzibar", "Jones" })
		res := e.search(crm.PeopleQuery{Text: "zanzibar"})
		equalIDs(e, "name above note", []string{inName.ID, inNote.ID}, res.IDs)
		// Equal relevance falls back to UpdatedAt descending.
		t1 := e.person(e.t1, func(p *crm.Person) { p.FirstName, p.LastName = "Twin", "Identical" })
		t2 := e.person(e.t1, func(p *crm.Person) { p.FirstName, p.LastName = "Twin", "Identical" })
		t3 := e.person(e.t1, func(p *crm.Person) { p.FirstName, p.LastName = "Twin", "Identical" })
		res = e.search(crm.PeopleQuery{Text: "identical twin"})
		equalIDs(e, "ties by UpdatedAt desc", []string{t3.ID, t2.ID, t1.ID}, res.IDs)
		for range 3 {
			again := e.search(crm.PeopleQuery{Text: "identical twin"})
			equalIDs(e, "deterministic", res.IDs, again.IDs)
		}
	}},
	{"hostile text", func(e *env) {
		w := newSearchWorld(e)
		for _, text := range []string{
			`"unterminated`, `*`, `%`, `_`, `.*`, `ada OR bob`, `NEAR(ada bob)`, `first_name:ada`, `-ada`, `ada*`,
			`' OR tenant_id<>'' --`, `1; SET app.tenant='T2'`, `ada) OR (1=1`, `\`, `^`, `{}`, `AND`, "\x00", "ünïcödé",
		} {
			res, err := e.s.SearchPeople(e.ctx, e.t1, crm.PeopleQuery{Text: text})
			if err != nil && !errors.Is(err, crm.ErrInvalid) {
				e.t.Errorf("SearchPeople(%q): %v", text, err)
			}
			e.noLeak(err, "SearchPeople")
			for _, id := range res.IDs {
				if id == w.foreign.ID {
					e.t.Errorf("SearchPeople(%q) returned another tenant's person", text)
				}
			}
		}
		// Quotes and operators are plain characters: the words still match.
		sameSet(e, "quoted word", []string{w.ada.ID}, e.search(crm.PeopleQuery{Text: `"quixote"`}).IDs)
	}},
}

var searchOrgTests = []test{
	{"companies", func(e *env) {
		a := e.company(e.t1, func(c *crm.Company) {
			c.Name, c.Domain, c.Industry, c.Location, c.Description = "Umbrella Corp", "umbrella.test", "Biotech", "Raccoon City", "Pharmaceuticals and research"
		})
		b := e.company(e.t1, func(c *crm.Company) {
			c.Name, c.Industry, c.Location, c.Description = "Stark Industries", "biotech", "New York", "Clean energy research"
		})
		c := e.company(e.t1, func(c *crm.Company) { c.Name, c.Industry, c.Location = "Wayne Enterprises", "Defense", "Gotham" })
		e.company(e.t2, func(c *crm.Company) {
			c.Name, c.Industry, c.Location, c.Description = "Umbrella "+e.canary, "Biotech", "Raccoon City", "research"
		})
		for _, tc := range []struct {
			name    string
			q       crm.CompanyQuery
			want    []string
			ordered bool
		}{
			{"all by UpdatedAt desc", crm.CompanyQuery{}, []string{c.ID, b.ID, a.ID}, true},
			{"name word", crm.CompanyQuery{Text: "umbrella"}, []string{a.ID}, false},
			{"description word", crm.CompanyQuery{Text: "research"}, []string{a.ID, b.ID}, false},
			{"industry word", crm.CompanyQuery{Text: "DEFENSE"}, []string{c.ID}, false},
			{"all words", crm.CompanyQuery{Text: "clean research"}, []string{b.ID}, false},
			{"industry filter any case", crm.CompanyQuery{Industry: "BIOTECH"}, []string{b.ID, a.ID}, true},
			{"location substring", crm.CompanyQuery{Location: "city"}, []string{a.ID}, false},
			{"location percent", crm.CompanyQuery{Location: "%"}, nil, false},
			{"foreign text", crm.CompanyQuery{Text: e.canary}, nil, false},
			{"limit", crm.CompanyQuery{Limit: 1}, []string{c.ID}, true},
		} {
			res, err := e.s.SearchCompanies(e.ctx, e.t1, tc.q)
			e.must(err, tc.name)
			if tc.ordered {
				equalIDs(e, tc.name, tc.want, res.IDs)
			} else {
				sameSet(e, tc.name, tc.want, res.IDs)
			}
		}
		res, err := e.s.SearchCompanies(e.ctx, e.t1, crm.CompanyQuery{Limit: 1})
		e.must(err, "SearchCompanies")
		if res.Total != 3 {
			e.t.Errorf("total = %d, want 3", res.Total)
		}
	}},
	{"jobs", func(e *env) {
		acme := e.company(e.t1, func(c *crm.Company) { c.Name = "Acme Rockets" })
		other := e.company(e.t1, func(c *crm.Company) { c.Name = "Blue Origin" })
		a := e.job(e.t1, acme.ID, func(j *crm.Job) {
			j.Title, j.Location, j.Description, j.OwnerID = "Propulsion Engineer", "Mojave", "Design engines", e.u1.ID
		})
		b := e.job(e.t1, other.ID, func(j *crm.Job) { j.Title, j.Status, j.Location = "Test Pilot", crm.JobOnHold, "Texas" })
		c := e.job(e.t1, acme.ID, func(j *crm.Job) {
			j.Title, j.Status, j.Description = "Office Manager", crm.JobFilled, "Keep engines of business running"
		})
		c2 := e.company(e.t2, func(c *crm.Company) { c.Name = "Acme " + e.canary })
		e.job(e.t2, c2.ID, func(j *crm.Job) { j.Title = "Propulsion Engineer " + e.canary })
		for _, tc := range []struct {
			name    string
			q       crm.JobQuery
			want    []string
			ordered bool
		}{
			{"all", crm.JobQuery{}, []string{c.ID, b.ID, a.ID}, true},
			{"title", crm.JobQuery{Text: "propulsion"}, []string{a.ID}, false},
			{"description", crm.JobQuery{Text: "engines"}, []string{a.ID, c.ID}, false},
			{"company name", crm.JobQuery{Text: "rockets"}, []string{a.ID, c.ID}, false},
			{"status", crm.JobQuery{Status: crm.JobOnHold}, []string{b.ID}, false},
			{"company", crm.JobQuery{CompanyID: acme.ID}, []string{c.ID, a.ID}, true},
			{"owner", crm.JobQuery{OwnerID: e.u1.ID}, []string{a.ID}, false},
			{"location", crm.JobQuery{Location: "TEX"}, []string{b.ID}, false},
			{"text and status", crm.JobQuery{Text: "engines", Status: crm.JobFilled}, []string{c.ID}, false},
			{"foreign company", crm.JobQuery{CompanyID: c2.ID}, nil, false},
			{"foreign text", crm.JobQuery{Text: e.canary}, nil, false},
		} {
			res, err := e.s.SearchJobs(e.ctx, e.t1, tc.q)
			e.must(err, tc.name)
			if tc.ordered {
				equalIDs(e, tc.name, tc.want, res.IDs)
			} else {
				sameSet(e, tc.name, tc.want, res.IDs)
			}
			if res.Total != len(tc.want) {
				e.t.Errorf("%s: total %d, want %d", tc.name, res.Total, len(tc.want))
			}
		}
	}},
}
