// Package demo holds the demo tenants and users the embedded default seeds,
// so a newcomer can sign in from an MCP client within a minute. Their
// passwords are public: never enable demo users on a server reachable by
// others.
package demo

import "github.com/crm-mcp/crm-mcp/internal/identity"

// Tenants of the demo, by id.
var Tenants = map[string]string{
	"tnt_acme":    "Acme Talent",
	"tnt_globex":  "Globex Recruiting",
	"tnt_initech": "Initech Staffing",
}

// TenantIDs lists the demo tenants in seeding order.
var TenantIDs = []string{"tnt_acme", "tnt_globex", "tnt_initech"}

// Users are the demo logins (printed at start).
var Users = []identity.SeedUser{
	{User: identity.User{ID: "usr_acme_alice", TenantID: "tnt_acme", Email: "alice@acme.example", Name: "Alice Archer", Role: identity.RoleRecruiter}, Password: "alice-demo-pass"},
	{User: identity.User{ID: "usr_acme_admin", TenantID: "tnt_acme", Email: "admin@acme.example", Name: "Ada Admin", Role: identity.RoleAdmin}, Password: "admin-demo-pass"},
	{User: identity.User{ID: "usr_acme_victor", TenantID: "tnt_acme", Email: "victor@acme.example", Name: "Victor Viewer", Role: identity.RoleViewer}, Password: "victor-demo-pass"},
	{User: identity.User{ID: "usr_globex_bob", TenantID: "tnt_globex", Email: "bob@globex.example", Name: "Bob Baker", Role: identity.RoleRecruiter}, Password: "bob-demo-pass"},
	{User: identity.User{ID: "usr_initech_carol", TenantID: "tnt_initech", Email: "carol@initech.example", Name: "Carol Chen", Role: identity.RoleRecruiter}, Password: "carol-demo-pass"},
}
