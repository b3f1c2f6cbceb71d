package crm_test

import (
	"errors"
	"strings"
	"testing"

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
	if err := (crm.Note{Body: "x"}).Validate(); err == nil {
		t.Error("note without subject accepted")
	}
}
