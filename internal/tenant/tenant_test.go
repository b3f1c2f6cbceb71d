package tenant_test

import (
	"context"
	"testing"

	"github.com/crm-mcp/crm-mcp/internal/tenant"
)

func TestPrincipalContext(t *testing.T) {
	if _, ok := tenant.FromContext(context.Background()); ok {
		t.Error("empty context has a principal")
	}
	if _, ok := tenant.FromContext(tenant.WithPrincipal(context.Background(), tenant.Principal{UserID: "u"})); ok {
		t.Error("a principal without a tenant counts as present")
	}
	p := tenant.Principal{TenantID: "t1", UserID: "u1", Scopes: []string{"crm:read", "crm:write"}}
	got, ok := tenant.FromContext(tenant.WithPrincipal(context.Background(), p))
	if !ok || got.TenantID != "t1" {
		t.Fatalf("FromContext = %+v, %v", got, ok)
	}
	if !got.HasScopes("crm:read") || !got.HasScopes() || got.HasScopes("crm:read", "crm:export") {
		t.Error("HasScopes wrong")
	}
}
