package crmtools

import (
	"context"
	"fmt"
	"strings"

	"github.com/crm-mcp/crm-mcp/internal/crm"
	"github.com/crm-mcp/crm-mcp/internal/crm/api"
	"github.com/crm-mcp/crm-mcp/internal/identity"
	"github.com/crm-mcp/crm-mcp/internal/tools"
)

type whoAmIIn struct{}

type whoAmIOut struct {
	UserID     string   `json:"userId"`
	Name       string   `json:"name"`
	Email      string   `json:"email"`
	Role       string   `json:"role" jsonschema:"admin, recruiter or viewer."`
	AgencyName string   `json:"agencyName" jsonschema:"The recruitment agency (CRM account) you work in."`
	Scopes     []string `json:"scopes" jsonschema:"What this connection may do: crm:read, crm:write, crm:export."`
}

type listTeamIn struct{}

type teamOut struct {
	Users []user `json:"users" jsonschema:"Everyone in your agency's CRM, by email."`
}

func accountTools(d *deps) []tools.Registered {
	return []tools.Registered{
		newTool(d, spec{
			name: "whoAmI", title: "Who am I", toolset: ToolsetAccount, scope: identity.ScopeRead, effect: reads,
			description: "Your own CRM user: id, name, email, role, agency, and what this connection is allowed to do. " +
				"Use it for \"my\" questions (your user id works as ownerId or assigneeId). Use listTeam for your colleagues.",
		}, whoAmI, renderWhoAmI),
		newTool(d, spec{
			name: "listTeam", title: "List the team", toolset: ToolsetAccount, scope: identity.ScopeRead, effect: reads,
			description: "Everyone in your agency's CRM (id, name, email, role), to find a colleague's user id for ownerId or assigneeId. Use whoAmI for yourself.",
		}, listTeam, renderTeam),
	}
}

func whoAmI(ctx context.Context, c *call, _ whoAmIIn) (whoAmIOut, error) {
	var (
		u api.UserInfo
		t crm.Tenant
	)
	errs := fanout(ctx,
		func(ctx context.Context) (err error) { u, err = c.crm.GetUser(ctx, c.p.UserID); return err },
		func(ctx context.Context) (err error) { t, err = c.crm.GetTenant(ctx); return err },
	)
	// Our own user and tenant not being found is not the model's doing.
	for _, err := range errs {
		if err != nil {
			return whoAmIOut{}, err
		}
	}
	scopes := append([]string{}, c.p.Scopes...)
	return whoAmIOut{UserID: u.ID, Name: u.Name, Email: u.Email, Role: string(u.Role), AgencyName: t.Name, Scopes: scopes}, nil
}

func renderWhoAmI(o *whoAmIOut) string {
	var b strings.Builder
	fmt.Fprintf(&b, "You are %s (%s), %s at %s. Your user id is %s.\n", orDash(o.Name), o.Email, orDash(o.Role), orDash(o.AgencyName), o.UserID)
	if len(o.Scopes) > 0 {
		fmt.Fprintf(&b, "This connection may: %s.\n", strings.Join(o.Scopes, ", "))
	}
	return b.String()
}

func listTeam(ctx context.Context, c *call, _ listTeamIn) (teamOut, error) {
	us, err := c.crm.ListUsers(ctx)
	if err != nil {
		return teamOut{}, err
	}
	return teamOut{Users: mapSlice(us, toUser)}, nil
}

func renderTeam(o *teamOut) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s in your agency:\n\n", plural(len(o.Users), "user"))
	rows := make([][]string, 0, len(o.Users))
	for _, u := range o.Users {
		rows = append(rows, []string{u.ID, u.Name, u.Email, u.Role})
	}
	table(&b, []string{"ID", "Name", "Email", "Role"}, rows)
	return b.String()
}
