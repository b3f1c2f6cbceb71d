package config

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/crm-mcp/crm-mcp/internal/demo"
)

// SeedConfig is the validated configuration of the seed command.
type SeedConfig struct {
	Store CRMStore
	// People is how many people are generated per tenant. Default 5000
	// (CRM_MCP_DEMO_PEOPLE, the same setting as serve's first start).
	People int
	// TenantIDs are the demo tenants to seed, in the order of
	// demo.TenantIDs. Default: all of them.
	TenantIDs []string
}

// LoadSeed reads the seed command's configuration like [Load]: the
// environment through getenv, then args; every problem is returned at once.
func LoadSeed(args []string, getenv func(string) string, stderr io.Writer) (*SeedConfig, error) {
	fs := flag.NewFlagSet("crm-mcp seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	l := &loader{getenv: getenv}
	store := storeFlags(fs, l)
	people := fs.Int64("people", l.integer("CRM_MCP_DEMO_PEOPLE", 5000), "people generated per tenant (CRM_MCP_DEMO_PEOPLE)")
	tenants := fs.String("tenants", l.env("CRM_MCP_DEMO_TENANTS", strings.Join(demo.TenantIDs, ",")), "comma-separated demo tenants to seed (CRM_MCP_DEMO_TENANTS)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	errs := l.errs
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments: %q", fs.Args()))
	}
	c := &SeedConfig{Store: store(), People: int(*people)}
	if *people < 1 || *people > 1_000_000 {
		errs = append(errs, fmt.Errorf("CRM_MCP_DEMO_PEOPLE: %d is outside 1-1000000", *people))
	}
	want := splitList(*tenants)
	for _, id := range want {
		if _, ok := demo.Tenants[id]; !ok {
			errs = append(errs, fmt.Errorf("CRM_MCP_DEMO_TENANTS: %q is not a demo tenant (%s)", id, strings.Join(demo.TenantIDs, ", ")))
		}
	}
	for _, id := range demo.TenantIDs {
		if slices.Contains(want, id) {
			c.TenantIDs = append(c.TenantIDs, id)
		}
	}
	if len(want) == 0 {
		errs = append(errs, fmt.Errorf("CRM_MCP_DEMO_TENANTS: empty; name one or more of %s", strings.Join(demo.TenantIDs, ", ")))
	}
	errs = append(errs, validateStore(c.Store)...)
	if len(errs) > 0 {
		return nil, &Error{Problems: errs}
	}
	return c, nil
}
