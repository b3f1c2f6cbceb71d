package crmtools_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/crm-mcp/crm-mcp/internal/crmtools"
	"github.com/crm-mcp/crm-mcp/internal/tools"
)

var update = flag.Bool("update", false, "rewrite testdata/toolsnaps from the registry")

// wantNames are the tools of the issue, in registry order.
var wantNames = []string{
	"searchPeople", "getPersonInfo", "createPerson", "updatePerson",
	"searchCompanies", "getCompanyInfo", "createCompany", "updateCompany",
	"searchJobs", "getJobInfo", "createJob", "updateJob",
	"getPipeline", "addToPipeline", "moveStage",
	"addNote", "logActivity", "getTimeline",
	"listTasks", "createTask", "completeTask",
	"pipelineReport",
	"whoAmI", "listTeam",
	"exportPeopleCsv", "exportPipelineCsv",
}

func registry(t *testing.T) []tools.Registered {
	t.Helper()
	return crmtools.All(newEnv(t).deps)
}

// snapshot is what a golden file holds: the tool as tools/list shows it,
// plus what the registry adds.
func snapshot(t *testing.T, r tools.Registered) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"tool": r.Tool(), "scopes": r.Def().Scopes, "toolset": r.Def().Toolset, "streams": r.Def().Streams})
	if err != nil {
		t.Fatal(err)
	}
	var v any // maps marshal with sorted keys
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(out, '\n')
}

func TestToolSnapshots(t *testing.T) {
	dir := filepath.Join("testdata", "toolsnaps")
	seen := map[string]bool{}
	for _, r := range registry(t) {
		name := r.Tool().Name
		seen[name+".json"] = true
		t.Run(name, func(t *testing.T) {
			got := snapshot(t, r)
			path := filepath.Join(dir, name+".json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("missing snapshot (run go test -run TestToolSnapshots -update): %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("schema of %s drifted from %s; review and run with -update.\ngot:\n%s", name, path, got)
			}
		})
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !seen[e.Name()] {
			t.Errorf("stale snapshot %s: no such tool", e.Name())
		}
	}
}

// tenantLike are property names no input may have, at any depth: the
// tenant comes from the token only.
var tenantLike = []string{"tenant", "tenantid", "tenant_id", "orgid", "org_id", "organizationid", "accountid", "account_id", "agencyid"}

func TestRegistryInvariants(t *testing.T) {
	all := registry(t)
	var names []string
	descs := map[string]string{}
	for _, r := range all {
		tool, def := r.Tool(), r.Def()
		names = append(names, tool.Name)
		t.Run(tool.Name, func(t *testing.T) {
			if tool.Title == "" || tool.Annotations == nil || tool.Annotations.Title != tool.Title {
				t.Errorf("title missing or differs between tool and annotations")
			}
			if len(tool.Description) < 80 {
				t.Errorf("description too short to say when to use the tool: %q", tool.Description)
			}
			if prev, ok := descs[tool.Description]; ok {
				t.Errorf("same description as %s", prev)
			}
			descs[tool.Description] = tool.Name
			if def.Toolset == "" {
				t.Errorf("no toolset")
			}
			a := tool.Annotations
			if a == nil || a.OpenWorldHint == nil || *a.OpenWorldHint || a.DestructiveHint == nil {
				t.Fatalf("annotations must set openWorldHint=false and destructiveHint explicitly: %+v", a)
			}
			if a.ReadOnlyHint && (*a.DestructiveHint || !a.IdempotentHint) {
				t.Errorf("read-only tool marked destructive or not idempotent")
			}
			if len(def.Scopes) != 1 {
				t.Fatalf("scopes = %v, want exactly one", def.Scopes)
			}
			switch s := def.Scopes[0]; {
			case def.Toolset == crmtools.ToolsetExports:
				if s != "crm:export" || !a.ReadOnlyHint {
					t.Errorf("export tool needs %q (read-only %v), want crm:export and read-only", s, a.ReadOnlyHint)
				}
			case a.ReadOnlyHint && s != "crm:read":
				t.Errorf("read-only tool needs %q, want crm:read", s)
			case !a.ReadOnlyHint && s != "crm:write":
				t.Errorf("writing tool needs %q, want crm:write", s)
			}
			if strings.HasPrefix(tool.Name, "create") || strings.HasPrefix(tool.Name, "add") || strings.HasPrefix(tool.Name, "log") || tool.Name == "completeTask" {
				if *a.DestructiveHint {
					t.Errorf("create/add/log/complete tool marked destructive")
				}
			}
			in, out := schemaMap(t, tool.InputSchema), schemaMap(t, tool.OutputSchema)
			for which, s := range map[string]map[string]any{"input": in, "output": out} {
				if s["type"] != "object" {
					t.Errorf("%s schema type = %v, want object", which, s["type"])
				}
				for _, k := range []string{"anyOf", "oneOf", "allOf", "not"} {
					if _, ok := s[k]; ok {
						t.Errorf("%s schema has top-level %s", which, k)
					}
				}
			}
			if in["additionalProperties"] != false {
				t.Errorf("input schema allows additional properties")
			}
			walkProps(in, "", func(path string, p map[string]any) {
				if d, _ := p["description"].(string); strings.TrimSpace(d) == "" {
					t.Errorf("input property %s has no description", path)
				}
				leaf := strings.ToLower(path[strings.LastIndex(path, ".")+1:])
				if slices.Contains(tenantLike, leaf) || strings.Contains(leaf, "tenant") {
					t.Errorf("input property %s is tenant-like", path)
				}
			})
		})
	}
	if !slices.Equal(names, wantNames) {
		t.Errorf("tool names:\n got %v\nwant %v", names, wantNames)
	}
	scopes := crmtools.Scopes()
	if len(scopes) != len(all) {
		t.Errorf("Scopes() has %d tools, registry %d", len(scopes), len(all))
	}
	for _, r := range all {
		if !slices.Equal(scopes[r.Tool().Name], r.Def().Scopes) {
			t.Errorf("Scopes()[%s] = %v, want %v", r.Tool().Name, scopes[r.Tool().Name], r.Def().Scopes)
		}
	}
	if s := crmtools.Streaming(); len(s) != 0 {
		t.Errorf("Streaming() = %v, want none", s)
	}
}

func schemaMap(t *testing.T, s any) map[string]any {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// walkProps calls f for every property at any depth (through objects and
// array items).
func walkProps(s map[string]any, prefix string, f func(path string, p map[string]any)) {
	if items, ok := s["items"].(map[string]any); ok {
		walkProps(items, prefix+"[]", f)
	}
	props, _ := s["properties"].(map[string]any)
	for name, v := range props {
		p, _ := v.(map[string]any)
		path := strings.TrimPrefix(prefix+"."+name, ".")
		f(path, p)
		walkProps(p, path, f)
	}
}
