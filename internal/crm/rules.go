package crm

import (
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Limits on stored text, shared by every backend and the API.
const (
	MaxNameLen  = 200
	MaxTextLen  = 20_000 // notes, descriptions
	MaxListLen  = 50     // emails, phones, skills, tags
	MaxItemLen  = 200    // one email, phone, skill or tag
	MaxLimit    = 1000   // search results per query
	DefaultPage = 20
)

// MinTime and MaxTime bound every time a record holds (due dates, activity
// times, start dates): far outside any recruiting use, and inside what
// every backend can store without overflow.
var (
	MinTime = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// validTime reports whether t is zero or within MinTime..MaxTime.
func validTime(t time.Time) bool {
	return t.IsZero() || (!t.Before(MinTime) && !t.After(MaxTime))
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewID returns an opaque random id with a readable prefix ("per", "cmp",
// "job", "app", "not", "act", "tsk", "plc", "usr", "tnt"): 128 random bits,
// so ids cannot be guessed or enumerated.
func NewID(prefix string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return prefix + "_" + idEncoding.EncodeToString(b)
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

func checkText(field, v string, max int, required bool) error {
	if required && strings.TrimSpace(v) == "" {
		return invalidf("%s is required", field)
	}
	if len(v) > max {
		return invalidf("%s is longer than %d bytes", field, max)
	}
	return nil
}

func checkList(field string, vs []string) error {
	if len(vs) > MaxListLen {
		return invalidf("%s has more than %d entries", field, MaxListLen)
	}
	for _, v := range vs {
		if strings.TrimSpace(v) == "" || len(v) > MaxItemLen {
			return invalidf("%s entries must be 1-%d bytes", field, MaxItemLen)
		}
	}
	return nil
}

// Validate checks a person about to be stored.
func (p Person) Validate() error {
	if p.Kind != KindCandidate && p.Kind != KindContact {
		return invalidf("kind must be candidate or contact")
	}
	for _, c := range []struct {
		f, v     string
		max      int
		required bool
	}{
		{"first name", p.FirstName, MaxNameLen, true}, {"last name", p.LastName, MaxNameLen, false},
		{"headline", p.Headline, MaxNameLen * 2, false}, {"location", p.Location, MaxNameLen, false},
		{"current title", p.CurrentTitle, MaxNameLen, false}, {"current company", p.CurrentCompany, MaxNameLen, false},
		{"source", p.Source, MaxNameLen, false},
	} {
		if err := checkText(c.f, c.v, c.max, c.required); err != nil {
			return err
		}
	}
	for _, l := range []struct {
		f  string
		vs []string
	}{{"emails", p.Emails}, {"phones", p.Phones}, {"skills", p.Skills}, {"tags", p.Tags}} {
		if err := checkList(l.f, l.vs); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks a company about to be stored.
func (c Company) Validate() error {
	if err := checkText("name", c.Name, MaxNameLen, true); err != nil {
		return err
	}
	for _, f := range []struct{ n, v string }{{"domain", c.Domain}, {"industry", c.Industry}, {"location", c.Location}, {"size", c.Size}} {
		if err := checkText(f.n, f.v, MaxNameLen, false); err != nil {
			return err
		}
	}
	return checkText("description", c.Description, MaxTextLen, false)
}

// ValidJobStatus reports whether s is a job status.
func ValidJobStatus(s JobStatus) bool {
	return s == JobOpen || s == JobOnHold || s == JobFilled || s == JobClosed
}

// Validate checks a job about to be stored.
func (j Job) Validate() error {
	if err := checkText("title", j.Title, MaxNameLen, true); err != nil {
		return err
	}
	if j.CompanyID == "" {
		return invalidf("company is required")
	}
	if !ValidJobStatus(j.Status) {
		return invalidf("status must be open, on_hold, filled or closed")
	}
	if j.SalaryMin < 0 || j.SalaryMax < 0 || (j.SalaryMax > 0 && j.SalaryMin > j.SalaryMax) {
		return invalidf("salary range is invalid")
	}
	if err := checkText("location", j.Location, MaxNameLen, false); err != nil {
		return err
	}
	return checkText("description", j.Description, MaxTextLen, false)
}

// ValidStage reports whether s is a pipeline stage.
func ValidStage(s Stage) bool { return slices.Contains(Stages, s) }

// CanMove reports whether an application may move from one stage to
// another: any move between active stages (forwards or back), to rejected
// from anything but hired, from rejected back into the funnel (an active
// stage: a rejected candidate is not hired without going through it
// again); never out of hired, never to the same stage.
func CanMove(from, to Stage) bool {
	if !ValidStage(from) || !ValidStage(to) || from == to || from == StageHired {
		return false
	}
	return !(from == StageRejected && to == StageHired)
}

// MaxAmount bounds a placement's salary and fee: far above any real one,
// far below what int64 and every backend hold.
const MaxAmount = 1_000_000_000_000

// ValidCurrency reports whether c is empty or three upper-case ASCII
// letters (the shape of an ISO 4217 code).
func ValidCurrency(c string) bool {
	if c == "" {
		return true
	}
	if len(c) != 3 {
		return false
	}
	for i := range 3 {
		if c[i] < 'A' || c[i] > 'Z' {
			return false
		}
	}
	return true
}

// Validate checks a placement's details (the ids are the store's to set):
// salary and fee in 0..MaxAmount-1, currency empty or three upper-case
// letters, start date zero or within MinTime..MaxTime.
func (p Placement) Validate() error {
	if p.Salary < 0 || p.Salary >= MaxAmount || p.Fee < 0 || p.Fee >= MaxAmount {
		return invalidf("salary and fee must be 0 or more and below %d", int64(MaxAmount))
	}
	if !ValidCurrency(p.Currency) {
		return invalidf("currency must be three upper-case letters (ISO 4217)")
	}
	if !validTime(p.StartDate) {
		return invalidf("start date is outside 1900-2200")
	}
	return nil
}

// Validate checks a note.
func (n Note) Validate() error {
	if n.PersonID == "" && n.CompanyID == "" && n.JobID == "" {
		return invalidf("a note must be about a person, company or job")
	}
	return checkText("body", n.Body, MaxTextLen, true)
}

// Validate checks an activity.
func (a Activity) Validate() error {
	if a.Kind != ActivityCall && a.Kind != ActivityEmail && a.Kind != ActivityMeeting {
		return invalidf("kind must be call, email or meeting")
	}
	if a.PersonID == "" {
		return invalidf("an activity needs a person")
	}
	if a.OccurredAt.IsZero() {
		return invalidf("occurred at is required")
	}
	if !validTime(a.OccurredAt) {
		return invalidf("occurred at is outside 1900-2200")
	}
	return checkText("summary", a.Summary, MaxTextLen, true)
}

// Validate checks a task.
func (t Task) Validate() error {
	if t.AssigneeID == "" {
		return invalidf("a task needs an assignee")
	}
	if !validTime(t.DueAt) {
		return invalidf("due date is outside 1900-2200")
	}
	return checkText("title", t.Title, MaxNameLen*2, true)
}

// ClampLimit applies the default and the maximum to a search limit.
func ClampLimit(n int) int {
	if n <= 0 || n > MaxLimit {
		return MaxLimit
	}
	return n
}

// ValidRole reports whether r is a user role.
func ValidRole(r Role) bool { return r == RoleAdmin || r == RoleRecruiter || r == RoleViewer }

// Validate checks a tenant about to be stored.
func (t Tenant) Validate() error {
	if err := checkText("id", t.ID, MaxNameLen, false); err != nil {
		return err
	}
	return checkText("name", t.Name, MaxNameLen, true)
}

// Validate checks a user about to be stored: an email with one @, a name
// and a role.
func (u User) Validate() error {
	if err := checkText("email", u.Email, MaxItemLen, true); err != nil {
		return err
	}
	if at := strings.Index(u.Email, "@"); at <= 0 || at != strings.LastIndex(u.Email, "@") || at == len(u.Email)-1 || strings.ContainsAny(u.Email, " \t\r\n") {
		return invalidf("email is malformed")
	}
	if err := checkText("name", u.Name, MaxNameLen, true); err != nil {
		return err
	}
	if !ValidRole(u.Role) {
		return invalidf("role must be admin, recruiter or viewer")
	}
	return nil
}
