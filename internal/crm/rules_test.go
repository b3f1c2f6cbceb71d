package crm_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/crm"
)

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := crm.NewID("per")
		if !strings.HasPrefix(id, "per_") || len(id) != 4+26 || seen[id] {
			t.Fatalf("bad or duplicate id %q", id)
		}
		seen[id] = true
	}
}

func TestCanMove(t *testing.T) {
	tests := []struct {
		from, to crm.Stage
		ok       bool
	}{
		{crm.StageSourced, crm.StageScreening, true},
		{crm.StageInterview, crm.StageScreening, true},
		{crm.StageOffer, crm.StageRejected, true},
		{crm.StageRejected, crm.StageScreening, true},
		{crm.StageRejected, crm.StageHired, false},
		{crm.StageOffer, crm.StageHired, true},
		{crm.StageHired, crm.StageHired, false},
		{crm.StageHired, crm.StageRejected, false},
		{crm.StageSourced, crm.StageSourced, false},
		{crm.StageSourced, "won", false},
	}
	for _, tt := range tests {
		if got := crm.CanMove(tt.from, tt.to); got != tt.ok {
			t.Errorf("CanMove(%s, %s) = %v", tt.from, tt.to, got)
		}
	}
}

func TestValidate(t *testing.T) {
	good := crm.Person{Kind: crm.KindCandidate, FirstName: "Ada"}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := []crm.Person{
		{Kind: "robot", FirstName: "x"},
		{Kind: crm.KindCandidate},
		{Kind: crm.KindCandidate, FirstName: strings.Repeat("x", 201)},
		{Kind: crm.KindCandidate, FirstName: "x", Skills: []string{""}},
		{Kind: crm.KindCandidate, FirstName: "x", Tags: make([]string, 51)},
	}
	for _, p := range bad {
		if err := p.Validate(); !errors.Is(err, crm.ErrInvalid) {
			t.Errorf("%+v: %v", p, err)
		}
	}
	if err := (crm.Job{Title: "Dev", CompanyID: "c", Status: crm.JobOpen, SalaryMin: 10, SalaryMax: 5}).Validate(); err == nil {
		t.Error("inverted salary range accepted")
	}
	for _, tc := range []struct {
		name string
		p    crm.Placement
		ok   bool
	}{
		{"zero", crm.Placement{}, true},
		{"full", crm.Placement{Salary: 90_000, Fee: 18_000, Currency: "EUR", StartDate: crm.MaxTime}, true},
		{"negative salary", crm.Placement{Salary: -1}, false},
		{"negative fee", crm.Placement{Fee: -1}, false},
		{"huge salary", crm.Placement{Salary: crm.MaxAmount}, false},
		{"huge fee", crm.Placement{Fee: crm.MaxAmount}, false},
		{"lower-case currency", crm.Placement{Currency: "eur"}, false},
		{"long currency", crm.Placement{Currency: "EURO"}, false},
		{"non-ASCII currency", crm.Placement{Currency: "ÉUR"}, false},
		{"early start", crm.Placement{StartDate: crm.MinTime.Add(-time.Second)}, false},
		{"late start", crm.Placement{StartDate: crm.MaxTime.Add(time.Second)}, false},
	} {
		err := tc.p.Validate()
		if tc.ok != (err == nil) || (err != nil && !errors.Is(err, crm.ErrInvalid)) {
			t.Errorf("placement %s: Validate = %v", tc.name, err)
		}
	}
	if err := (crm.Note{Body: "x"}).Validate(); err == nil {
		t.Error("note without subject accepted")
	}
}
