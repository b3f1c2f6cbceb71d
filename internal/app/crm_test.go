package app_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/crm-mcp/crm-mcp/internal/config"
	"github.com/crm-mcp/crm-mcp/internal/token"
)

// mintTokenFor returns an access token for any demo user.
func mintTokenFor(t *testing.T, ts *testServer, userID, tenantID string, scopes ...string) string {
	t.Helper()
	ring, err := token.NewKeyRing(token.Key{ID: testKeyID, Secret: testKey})
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{PublicURL: ts.URL}
	iss, err := token.NewAccessIssuer(ring, token.AccessOptions{Issuer: cfg.PublicURL, Audience: cfg.MCPURL()})
	if err != nil {
		t.Fatal(err)
	}
	raw, _, err := iss.Mint(token.AccessClaims{Subject: userID, TenantID: tenantID, Scopes: scopes, ClientID: "test-client"})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

type toolResult struct {
	Content []struct {
		Type string `json:"type"`
		Text string `json:"text"`
		// An export's file: an embedded resource, or a resource_link.
		Resource *struct {
			MIMEType string `json:"mimeType"`
			Text     string `json:"text"`
		} `json:"resource"`
		URI      string `json:"uri"`
		MIMEType string `json:"mimeType"`
	} `json:"content"`
	StructuredContent json.RawMessage `json:"structuredContent"`
	IsError           bool            `json:"isError"`
}

func callTool(t *testing.T, ts *testServer, tok, name, args string) toolResult {
	t.Helper()
	resp := ts.postAuth(t, tok, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"`+name+`","arguments":`+args+`}}`)
	if resp.status != http.StatusOK {
		t.Fatalf("%s: status %d %s", name, resp.status, resp.body)
	}
	var tr toolResult
	if err := json.Unmarshal(resp.rpc(t).Result, &tr); err != nil {
		t.Fatalf("%s: %v: %s", name, err, resp.body)
	}
	if len(tr.Content) != 1 || strings.Count(tr.Content[0].Text, "<tool-data nonce=") != 1 {
		t.Errorf("%s: text is not exactly one tool-data boundary: %+v", name, tr.Content)
	}
	return tr
}

// TestCRMToolsThroughTheWholeStack: bearer → tool → service token → CRM
// API → SQLite with the seeded demo data, and tenant isolation end to end.
func TestCRMToolsThroughTheWholeStack(t *testing.T) {
	ts := startServer(t, nil)
	alice := mintTokenFor(t, ts, "usr_acme_alice", "tnt_acme", "crm:read", "crm:write")
	bob := mintTokenFor(t, ts, "usr_globex_bob", "tnt_globex", "crm:read", "crm:write")

	who := callTool(t, ts, alice, "whoAmI", `{}`)
	if who.IsError || !strings.Contains(string(who.StructuredContent), "alice@acme.example") {
		t.Fatalf("whoAmI: %+v %s\nlogs:\n%s", who, who.StructuredContent, ts.logs.String())
	}

	found := callTool(t, ts, alice, "searchPeople", `{"pageSize":5}`)
	var page struct {
		TotalResults int `json:"totalResults"`
		Results      []struct {
			ID string `json:"id"`
		} `json:"results"`
	}
	if err := json.Unmarshal(found.StructuredContent, &page); err != nil || found.IsError || page.TotalResults == 0 || len(page.Results) == 0 {
		t.Fatalf("searchPeople over the seeded data: %+v %s", found, found.StructuredContent)
	}
	if !strings.Contains(found.Content[0].Text, "Showing 1-") {
		t.Errorf("searchPeople text lacks the paging line: %s", found.Content[0].Text)
	}
	id := page.Results[0].ID

	info := callTool(t, ts, alice, "getPersonInfo", `{"personId":"`+id+`"}`)
	if info.IsError || !strings.Contains(string(info.StructuredContent), id) {
		t.Fatalf("getPersonInfo: %+v %s", info, info.StructuredContent)
	}
	// Another tenant's id answers exactly like a missing one.
	foreign := callTool(t, ts, bob, "getPersonInfo", `{"personId":"`+id+`"}`)
	missing := callTool(t, ts, bob, "getPersonInfo", `{"personId":"per_aaaaaaaaaaaaaaaaaaaaaaaaaa"}`)
	strip := func(s string) string { // the boundary nonce differs per response
		s = s[strings.Index(s, ">")+1:]
		return strings.ReplaceAll(s[:strings.Index(s, "</tool-data")], id, "ID")
	}
	missingText := strings.ReplaceAll(strip(missing.Content[0].Text), "per_aaaaaaaaaaaaaaaaaaaaaaaaaa", "ID")
	if !foreign.IsError || strip(foreign.Content[0].Text) != missingText {
		t.Errorf("foreign id: %q\nmissing id: %q", foreign.Content[0].Text, missing.Content[0].Text)
	}

	// A write with crm:write lands in the caller's tenant only.
	created := callTool(t, ts, alice, "createPerson", `{"firstName":"Zed","lastName":"Quux-Canary","kind":"candidate"}`)
	if created.IsError {
		t.Fatalf("createPerson: %+v", created)
	}
	bobSearch := callTool(t, ts, bob, "searchPeople", `{"query":"Quux-Canary"}`)
	if strings.Contains(bobSearch.Content[0].Text, "Quux") || strings.Contains(string(bobSearch.StructuredContent), "Quux") {
		t.Errorf("tenant b sees tenant a's new person: %s", bobSearch.Content[0].Text)
	}
}
