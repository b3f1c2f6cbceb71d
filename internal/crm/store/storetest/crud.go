package storetest

import (
	"strings"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/crm"
)

var tenantTests = []test{
	{"create and get", func(e *env) {
		before := e.clk.peek()
		tn, err := e.s.CreateTenant(e.ctx, crm.Tenant{Name: "Héllo Agency"})
		e.must(err, "CreateTenant")
		if !strings.HasPrefix(tn.ID, "tnt_") || tn.Name != "Héllo Agency" || tn.CreatedAt.Before(before) {
			e.t.Errorf("CreateTenant = %+v", tn)
		}
		got, err := e.s.GetTenant(e.ctx, tn.ID)
		e.must(err, "GetTenant")
		tn.CreatedAt, got.CreatedAt = normTime(tn.CreatedAt), normTime(got.CreatedAt)
		equal(e, "tenant", tn, got)
	}},
	{"given id kept, duplicate conflicts", func(e *env) {
		id := randomID("tnt")
		tn, err := e.s.CreateTenant(e.ctx, crm.Tenant{ID: id, Name: "Seeded"})
		e.must(err, "CreateTenant")
		if tn.ID != id {
			e.t.Errorf("id = %q, want %q", tn.ID, id)
		}
		_, err = e.s.CreateTenant(e.ctx, crm.Tenant{ID: id, Name: "Again"})
		e.wantErr(err, crm.ErrConflict, "duplicate tenant")
		got, err := e.s.GetTenant(e.ctx, id)
		e.must(err, "GetTenant")
		if got.Name != "Seeded" {
			e.t.Errorf("duplicate overwrote the tenant: %+v", got)
		}
	}},
	{"invalid", func(e *env) {
		_, err := e.s.CreateTenant(e.ctx, crm.Tenant{Name: "  "})
		e.wantErr(err, crm.ErrInvalid, "blank name")
	}},
	{"unknown", func(e *env) {
		_, err := e.s.GetTenant(e.ctx, randomID("tnt"))
		e.wantErr(err, crm.ErrNotFound, "GetTenant unknown")
	}},
}

var userTests = []test{
	{"create get list", func(e *env) {
		email := uniqueEmail("Grace.Hopper")
		u, err := e.s.CreateUser(e.ctx, e.t1, crm.User{Email: strings.ToUpper(email[:5]) + email[5:], Name: "Grace", Role: crm.RoleAdmin, PasswordHash: "h", TenantID: e.t2})
		e.must(err, "CreateUser")
		if !strings.HasPrefix(u.ID, "usr_") || u.TenantID != e.t1 || u.Email != strings.ToLower(email) || u.CreatedAt.IsZero() {
			e.t.Errorf("CreateUser = %+v", u)
		}
		got, err := e.s.GetUser(e.ctx, e.t1, u.ID)
		e.must(err, "GetUser")
		equal(e, "user", normUser(u), normUser(got))
		list, err := e.s.ListUsers(e.ctx, e.t1)
		e.must(err, "ListUsers")
		want := []crm.User{e.u1, u}
		if want[1].Email < want[0].Email {
			want[0], want[1] = want[1], want[0]
		}
		equalIDs(e, "ListUsers", ids(want, userID), ids(list, userID))
	}},
	{"given id kept, duplicate conflicts", func(e *env) {
		id := randomID("usr")
		u, err := e.s.CreateUser(e.ctx, e.t1, crm.User{ID: id, Email: uniqueEmail("seeded"), Name: "Seeded", Role: crm.RoleViewer})
		e.must(err, "CreateUser")
		if u.ID != id {
			e.t.Errorf("id = %q, want %q", u.ID, id)
		}
		_, err = e.s.CreateUser(e.ctx, e.t1, crm.User{ID: id, Email: uniqueEmail("again"), Name: "Again", Role: crm.RoleViewer})
		e.wantErr(err, crm.ErrConflict, "duplicate user id")
		got, err := e.s.GetUser(e.ctx, e.t1, id)
		e.must(err, "GetUser")
		if got.Name != "Seeded" {
			e.t.Errorf("duplicate overwrote the user: %+v", got)
		}
	}},
	{"by email case-insensitive across tenants", func(e *env) {
		got, err := e.s.UserByEmail(e.ctx, strings.ToUpper(e.u2.Email))
		e.must(err, "UserByEmail")
		if got.ID != e.u2.ID || got.TenantID != e.t2 || got.PasswordHash != e.u2.PasswordHash {
			e.t.Errorf("UserByEmail = %+v, want %+v", got, e.u2)
		}
		_, err = e.s.UserByEmail(e.ctx, uniqueEmail("nobody"))
		e.wantErr(err, crm.ErrNotFound, "UserByEmail unknown")
	}},
	{"unique email", func(e *env) {
		for _, tc := range []struct{ name, tenant, email string }{
			{"same tenant", e.t1, e.u1.Email},
			{"other tenant", e.t1, e.u2.Email},
			{"case", e.t2, strings.ToUpper(e.u1.Email)},
		} {
			_, err := e.s.CreateUser(e.ctx, tc.tenant, crm.User{Email: tc.email, Name: "Dup", Role: crm.RoleViewer})
			e.wantErr(err, crm.ErrConflict, tc.name)
		}
	}},
	{"invalid", func(e *env) {
		for _, tc := range []struct {
			name string
			u    crm.User
		}{
			{"no email", crm.User{Name: "x", Role: crm.RoleViewer}},
			{"bad email", crm.User{Email: "not-an-email", Name: "x", Role: crm.RoleViewer}},
			{"no name", crm.User{Email: uniqueEmail("x"), Role: crm.RoleViewer}},
			{"bad role", crm.User{Email: uniqueEmail("x"), Name: "x", Role: "root"}},
		} {
			_, err := e.s.CreateUser(e.ctx, e.t1, tc.u)
			e.wantErr(err, crm.ErrInvalid, tc.name)
		}
		_, err := e.s.CreateUser(e.ctx, randomID("tnt"), crm.User{Email: uniqueEmail("x"), Name: "x", Role: crm.RoleViewer})
		e.wantErr(err, crm.ErrInvalid, "unknown tenant")
		list, err := e.s.ListUsers(e.ctx, e.t1)
		e.must(err, "ListUsers")
		if len(list) != 1 {
			e.t.Errorf("invalid users were written: %d users", len(list))
		}
	}},
	{"unknown", func(e *env) {
		_, err := e.s.GetUser(e.ctx, e.t1, randomID("usr"))
		e.wantErr(err, crm.ErrNotFound, "GetUser unknown")
	}},
}

func fullPerson(companyID, ownerID string) crm.Person {
	return crm.Person{
		ID: "per_mine", TenantID: "tnt_other", Kind: crm.KindContact, FirstName: "Linus", LastName: "Torvalds",
		Headline: "Kernel hacker", Emails: []string{"linus@example.test", "lt@example.test"}, Phones: []string{"+1 555 0100"},
		Location: "Portland, OR", CurrentTitle: "Fellow", CurrentCompany: "Linux Foundation", CompanyID: companyID,
		Skills: []string{"C", "Git"}, Source: "referral", Tags: []string{"vip"}, OwnerID: ownerID,
	}
}

var peopleTests = []test{
	{"create get roundtrip", func(e *env) {
		c := e.company(e.t1, nil)
		in := fullPerson(c.ID, e.u1.ID)
		before := e.clk.peek()
		p, err := e.s.CreatePerson(e.ctx, e.t1, in)
		e.must(err, "CreatePerson")
		if !strings.HasPrefix(p.ID, "per_") || p.ID == in.ID || p.TenantID != e.t1 {
			e.t.Errorf("CreatePerson id/tenant = %q/%q", p.ID, p.TenantID)
		}
		if p.CreatedAt.Before(before) || !p.UpdatedAt.Equal(p.CreatedAt) {
			e.t.Errorf("CreatePerson times = %v/%v, clock was %v", p.CreatedAt, p.UpdatedAt, before)
		}
		want := in
		want.ID, want.TenantID, want.CreatedAt, want.UpdatedAt = p.ID, e.t1, p.CreatedAt, p.UpdatedAt
		equal(e, "created", normPerson(want), normPerson(p))
		got, err := e.s.GetPerson(e.ctx, e.t1, p.ID)
		e.must(err, "GetPerson")
		equal(e, "got", normPerson(p), normPerson(got))
	}},
	{"create invalid writes nothing", func(e *env) {
		c2 := e.company(e.t2, nil)
		long := strings.Repeat("x", crm.MaxNameLen+1)
		for _, tc := range []struct {
			name   string
			tenant string
			p      crm.Person
		}{
			{"bad kind", e.t1, crm.Person{Kind: "robot", FirstName: "R2"}},
			{"no first name", e.t1, crm.Person{Kind: crm.KindCandidate, LastName: e.canary}},
			{"long name", e.t1, crm.Person{Kind: crm.KindCandidate, FirstName: long}},
			{"blank skill", e.t1, crm.Person{Kind: crm.KindCandidate, FirstName: "x", Skills: []string{"go", " "}}},
			{"too many tags", e.t1, crm.Person{Kind: crm.KindCandidate, FirstName: "x", Tags: make([]string, crm.MaxListLen+1)}},
			{"unknown company", e.t1, crm.Person{Kind: crm.KindContact, FirstName: "x", CompanyID: randomID("cmp")}},
			{"foreign company", e.t1, crm.Person{Kind: crm.KindContact, FirstName: "x", CompanyID: c2.ID}},
			{"unknown tenant", randomID("tnt"), crm.Person{Kind: crm.KindCandidate, FirstName: "x"}},
		} {
			_, err := e.s.CreatePerson(e.ctx, tc.tenant, tc.p)
			e.wantErr(err, crm.ErrInvalid, tc.name)
		}
		res, err := e.s.SearchPeople(e.ctx, e.t1, crm.PeopleQuery{})
		e.must(err, "SearchPeople")
		if res.Total != 0 {
			e.t.Errorf("invalid people were written: %+v", res)
		}
	}},
	{"get unknown", func(e *env) {
		_, err := e.s.GetPerson(e.ctx, e.t1, randomID("per"))
		e.wantErr(err, crm.ErrNotFound, "GetPerson")
		_, err = e.s.GetPerson(e.ctx, e.t1, "")
		e.wantErr(err, crm.ErrNotFound, "GetPerson empty id")
	}},
	{"get many keeps order skips missing", func(e *env) {
		a, b, c := e.person(e.t1, nil), e.person(e.t1, nil), e.person(e.t1, nil)
		f := e.person(e.t2, nil)
		got, err := e.s.GetPeople(e.ctx, e.t1, []string{c.ID, randomID("per"), a.ID, f.ID, b.ID})
		e.must(err, "GetPeople")
		equalIDs(e, "GetPeople", []string{c.ID, a.ID, b.ID}, ids(got, personID))
		if len(got) == 3 {
			equal(e, "GetPeople[0]", normPerson(c), normPerson(got[0]))
		}
		got, err = e.s.GetPeople(e.ctx, e.t1, nil)
		e.must(err, "GetPeople empty")
		if len(got) != 0 {
			e.t.Errorf("GetPeople(nil) = %v", got)
		}
	}},
	{"update patches given fields", func(e *env) {
		c := e.company(e.t1, nil)
		p := e.person(e.t1, func(p *crm.Person) { *p = fullPerson(c.ID, e.u1.ID) })
		e.clk.Advance(time.Hour)
		got, err := e.s.UpdatePerson(e.ctx, e.t1, p.ID, crm.PersonPatch{Headline: ptr("Maintainer"), Skills: &[]string{"Rust"}, CompanyID: ptr(""), Emails: &[]string{}})
		e.must(err, "UpdatePerson")
		want := p
		want.Headline, want.Skills, want.CompanyID, want.Emails = "Maintainer", []string{"Rust"}, "", nil
		want.UpdatedAt = got.UpdatedAt
		equal(e, "updated", normPerson(want), normPerson(got))
		if !got.UpdatedAt.After(p.UpdatedAt.Add(time.Hour-time.Second)) || !got.CreatedAt.Equal(p.CreatedAt) {
			e.t.Errorf("times after update = %v/%v, before %v/%v", got.CreatedAt, got.UpdatedAt, p.CreatedAt, p.UpdatedAt)
		}
		again, err := e.s.GetPerson(e.ctx, e.t1, p.ID)
		e.must(err, "GetPerson")
		equal(e, "reread", normPerson(got), normPerson(again))
	}},
	{"update invalid writes nothing", func(e *env) {
		p := e.person(e.t1, func(p *crm.Person) { p.Skills = []string{"Go"} })
		c2 := e.company(e.t2, nil)
		for _, tc := range []struct {
			name  string
			patch crm.PersonPatch
		}{
			{"blank first name", crm.PersonPatch{FirstName: ptr(" "), Headline: ptr("changed")}},
			{"blank skill", crm.PersonPatch{Skills: &[]string{""}, Headline: ptr("changed")}},
			{"foreign company", crm.PersonPatch{CompanyID: &c2.ID, Headline: ptr("changed")}},
			{"unknown company", crm.PersonPatch{CompanyID: ptr(randomID("cmp")), Headline: ptr("changed")}},
		} {
			_, err := e.s.UpdatePerson(e.ctx, e.t1, p.ID, tc.patch)
			e.wantErr(err, crm.ErrInvalid, tc.name)
		}
		got, err := e.s.GetPerson(e.ctx, e.t1, p.ID)
		e.must(err, "GetPerson")
		equal(e, "unchanged", normPerson(p), normPerson(got))
	}},
	{"update unknown", func(e *env) {
		_, err := e.s.UpdatePerson(e.ctx, e.t1, randomID("per"), crm.PersonPatch{Headline: ptr("x")})
		e.wantErr(err, crm.ErrNotFound, "UpdatePerson")
	}},
}

var companyTests = []test{
	{"create get update", func(e *env) {
		in := crm.Company{ID: "cmp_mine", TenantID: e.t2, Name: "Globex", Domain: "globex.test", Industry: "Energy", Location: "Springfield", Size: "51-200", Description: "Nuclear", OwnerID: e.u1.ID}
		c, err := e.s.CreateCompany(e.ctx, e.t1, in)
		e.must(err, "CreateCompany")
		if !strings.HasPrefix(c.ID, "cmp_") || c.ID == in.ID || c.TenantID != e.t1 || c.CreatedAt.IsZero() || !c.UpdatedAt.Equal(c.CreatedAt) {
			e.t.Errorf("CreateCompany = %+v", c)
		}
		want := in
		want.ID, want.TenantID, want.CreatedAt, want.UpdatedAt = c.ID, e.t1, c.CreatedAt, c.UpdatedAt
		equal(e, "created", normCompany(want), normCompany(c))
		got, err := e.s.GetCompany(e.ctx, e.t1, c.ID)
		e.must(err, "GetCompany")
		equal(e, "got", normCompany(c), normCompany(got))

		up, err := e.s.UpdateCompany(e.ctx, e.t1, c.ID, crm.CompanyPatch{Industry: ptr("Utilities"), Description: ptr("")})
		e.must(err, "UpdateCompany")
		want = c
		want.Industry, want.Description, want.UpdatedAt = "Utilities", "", up.UpdatedAt
		equal(e, "updated", normCompany(want), normCompany(up))
		if !up.UpdatedAt.After(c.UpdatedAt) {
			e.t.Errorf("UpdatedAt not bumped: %v → %v", c.UpdatedAt, up.UpdatedAt)
		}
		_, err = e.s.UpdateCompany(e.ctx, e.t1, c.ID, crm.CompanyPatch{Name: ptr(""), Industry: ptr("x")})
		e.wantErr(err, crm.ErrInvalid, "blank name")
		got, err = e.s.GetCompany(e.ctx, e.t1, c.ID)
		e.must(err, "GetCompany")
		equal(e, "unchanged", normCompany(up), normCompany(got))
	}},
	{"invalid and unknown", func(e *env) {
		_, err := e.s.CreateCompany(e.ctx, e.t1, crm.Company{Name: " ", Description: e.canary})
		e.wantErr(err, crm.ErrInvalid, "blank name")
		_, err = e.s.CreateCompany(e.ctx, e.t1, crm.Company{Name: "x", Description: strings.Repeat("y", crm.MaxTextLen+1)})
		e.wantErr(err, crm.ErrInvalid, "long description")
		_, err = e.s.GetCompany(e.ctx, e.t1, randomID("cmp"))
		e.wantErr(err, crm.ErrNotFound, "GetCompany")
		_, err = e.s.UpdateCompany(e.ctx, e.t1, randomID("cmp"), crm.CompanyPatch{Name: ptr("x")})
		e.wantErr(err, crm.ErrNotFound, "UpdateCompany")
		res, err := e.s.SearchCompanies(e.ctx, e.t1, crm.CompanyQuery{})
		e.must(err, "SearchCompanies")
		if res.Total != 0 {
			e.t.Errorf("invalid companies were written: %+v", res)
		}
	}},
	{"get many", func(e *env) {
		a, b := e.company(e.t1, nil), e.company(e.t1, nil)
		f := e.company(e.t2, nil)
		got, err := e.s.GetCompanies(e.ctx, e.t1, []string{b.ID, f.ID, randomID("cmp"), a.ID})
		e.must(err, "GetCompanies")
		equalIDs(e, "GetCompanies", []string{b.ID, a.ID}, ids(got, companyID))
	}},
}

var jobTests = []test{
	{"create get update", func(e *env) {
		c := e.company(e.t1, nil)
		hm := e.person(e.t1, func(p *crm.Person) { p.Kind = crm.KindContact; p.CompanyID = c.ID })
		in := crm.Job{ID: "job_mine", CompanyID: c.ID, Title: "Staff Engineer", Status: crm.JobOpen, Location: "Remote", SalaryMin: 100, SalaryMax: 200, Currency: "EUR", Description: "Build things", HiringManagerID: hm.ID, OwnerID: e.u1.ID}
		j, err := e.s.CreateJob(e.ctx, e.t1, in)
		e.must(err, "CreateJob")
		if !strings.HasPrefix(j.ID, "job_") || j.TenantID != e.t1 || j.CreatedAt.IsZero() {
			e.t.Errorf("CreateJob = %+v", j)
		}
		want := in
		want.ID, want.TenantID, want.CreatedAt, want.UpdatedAt = j.ID, e.t1, j.CreatedAt, j.UpdatedAt
		equal(e, "created", normJob(want), normJob(j))
		got, err := e.s.GetJob(e.ctx, e.t1, j.ID)
		e.must(err, "GetJob")
		equal(e, "got", normJob(j), normJob(got))

		up, err := e.s.UpdateJob(e.ctx, e.t1, j.ID, crm.JobPatch{Status: ptr(crm.JobOnHold), SalaryMax: ptr(int64(300)), HiringManagerID: ptr("")})
		e.must(err, "UpdateJob")
		want = j
		want.Status, want.SalaryMax, want.HiringManagerID, want.UpdatedAt = crm.JobOnHold, 300, "", up.UpdatedAt
		equal(e, "updated", normJob(want), normJob(up))
		if !up.UpdatedAt.After(j.UpdatedAt) {
			e.t.Errorf("UpdatedAt not bumped")
		}
		for _, tc := range []struct {
			name  string
			patch crm.JobPatch
		}{
			{"bad status", crm.JobPatch{Status: ptr(crm.JobStatus("won")), Title: ptr("changed")}},
			{"inverted salary", crm.JobPatch{SalaryMin: ptr(int64(1000)), Title: ptr("changed")}},
			{"unknown hiring manager", crm.JobPatch{HiringManagerID: ptr(randomID("per")), Title: ptr("changed")}},
		} {
			_, err := e.s.UpdateJob(e.ctx, e.t1, j.ID, tc.patch)
			e.wantErr(err, crm.ErrInvalid, tc.name)
		}
		got, err = e.s.GetJob(e.ctx, e.t1, j.ID)
		e.must(err, "GetJob")
		equal(e, "unchanged", normJob(up), normJob(got))
	}},
	{"invalid and unknown", func(e *env) {
		c := e.company(e.t1, nil)
		c2 := e.company(e.t2, nil)
		p2 := e.person(e.t2, nil)
		for _, tc := range []struct {
			name string
			j    crm.Job
		}{
			{"no title", crm.Job{CompanyID: c.ID, Status: crm.JobOpen}},
			{"no company", crm.Job{Title: "x", Status: crm.JobOpen}},
			{"unknown company", crm.Job{Title: "x", CompanyID: randomID("cmp"), Status: crm.JobOpen}},
			{"foreign company", crm.Job{Title: "x", CompanyID: c2.ID, Status: crm.JobOpen}},
			{"foreign hiring manager", crm.Job{Title: "x", CompanyID: c.ID, Status: crm.JobOpen, HiringManagerID: p2.ID}},
			{"bad status", crm.Job{Title: "x", CompanyID: c.ID, Status: "won"}},
			{"negative salary", crm.Job{Title: "x", CompanyID: c.ID, Status: crm.JobOpen, SalaryMin: -1}},
		} {
			_, err := e.s.CreateJob(e.ctx, e.t1, tc.j)
			e.wantErr(err, crm.ErrInvalid, tc.name)
		}
		res, err := e.s.SearchJobs(e.ctx, e.t1, crm.JobQuery{})
		e.must(err, "SearchJobs")
		if res.Total != 0 {
			e.t.Errorf("invalid jobs were written: %+v", res)
		}
		_, err = e.s.GetJob(e.ctx, e.t1, randomID("job"))
		e.wantErr(err, crm.ErrNotFound, "GetJob")
		_, err = e.s.UpdateJob(e.ctx, e.t1, randomID("job"), crm.JobPatch{Title: ptr("x")})
		e.wantErr(err, crm.ErrNotFound, "UpdateJob")
	}},
	{"get many", func(e *env) {
		c := e.company(e.t1, nil)
		a, b := e.job(e.t1, c.ID, nil), e.job(e.t1, c.ID, nil)
		c2 := e.company(e.t2, nil)
		f := e.job(e.t2, c2.ID, nil)
		got, err := e.s.GetJobs(e.ctx, e.t1, []string{f.ID, b.ID, a.ID, randomID("job")})
		e.must(err, "GetJobs")
		equalIDs(e, "GetJobs", []string{b.ID, a.ID}, ids(got, jobID))
	}},
}
