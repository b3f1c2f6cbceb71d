package loadbench

import (
	"bytes"
	"context"
	"io"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	MaybeChild() // the test binary is also the harness's child servers
	os.Exit(m.Run())
}

// TestHarnessEndToEnd runs the whole harness on tiny data: seeding 3
// tenants, the serve role and both floors as child processes, minted
// tokens, real OAuth flows for the refresh chains, every operation of the
// mix in both loops. It checks the report, not the performance.
func TestHarnessEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three servers and seeds a store (~15 s)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 55*time.Second)
	defer cancel()
	var progress bytes.Buffer
	rep, err := Run(ctx, Config{
		Dir: t.TempDir(), People: 300, Concurrency: 4, OpenConns: 8,
		Warmup: 200 * time.Millisecond, Duration: 1500 * time.Millisecond, Drain: 3 * time.Second,
		Runs: 1, UsersPerTenant: 2, ChainsPerTenant: 1, ChildArgs: []string{},
		// Equal weights, so every operation runs in every phase.
		Mix:      "searchPeople=1,searchPeople.page=1,getPersonInfo=1,getPipeline=1,addNote=1,createTask=1,moveStage=1,tools/list=1,token.refresh=1",
		Progress: &progress,
	})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, progress.String())
	}
	var out bytes.Buffer
	rep.Print(&out)
	t.Log("\n" + out.String())

	if rep.Tenants != 3 || rep.Users != 6 || rep.Chains != 3 || len(rep.Runs) != 1 {
		t.Errorf("tenants %d users %d chains %d runs %d, want 3, 6, 3, 1", rep.Tenants, rep.Users, rep.Chains, len(rep.Runs))
	}
	if n := rep.Errors(); n != 0 {
		t.Errorf("%d requests failed or were dropped:\n%s", n, out.String())
	}
	run := rep.Runs[0]
	seen := map[string]bool{}
	for _, p := range run.Phases {
		seen[p.Target+"/"+p.Phase] = true
		if p.Requests == 0 || p.Rate <= 0 || p.P50 <= 0 || p.P99 < p.P50 {
			t.Errorf("%s %s: requests %d rate %.0f p50 %.3f p99 %.3f", p.Target, p.Phase, p.Requests, p.Rate, p.P50, p.P99)
		}
		if p.ServerCPU <= 0 || p.ClientCPU <= 0 {
			t.Errorf("%s %s: server CPU %.1f, client CPU %.1f µs/req, want both measured", p.Target, p.Phase, p.ServerCPU, p.ClientCPU)
		}
		if p.Phase == "open" && math.Abs(p.Offered-run.Phases[0].Rate/2) > 1e-6 {
			t.Errorf("%s open loop offered %.1f req/s, want half the stack's %.1f", p.Target, p.Offered, run.Phases[0].Rate)
		}
		if p.Target == targetStack && p.Phase == "max" {
			for _, op := range allOps {
				if p.Ops[op].Count == 0 {
					t.Errorf("stack closed loop never made %s", op)
				}
			}
		}
	}
	for _, k := range []string{"stack/max", "floor-sql/max", "floor-bytes/max", "stack/open", "floor-sql/open", "floor-bytes/open"} {
		if !seen[k] {
			t.Errorf("no %s phase", k)
		}
	}
	for _, f := range []string{targetFloorSQL, targetFloorBytes} {
		r := run.Ratios[f]
		if !(r.Throughput > 0 && r.CPU > 0) || math.IsInf(r.Throughput, 0) || math.IsInf(r.CPU, 0) {
			t.Errorf("ratio against %s: %+v, want both positive and finite", f, r)
		}
	}
	for _, want := range []string{"| stack |", "| floor-sql |", "| floor-bytes |", "| token.refresh |"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("printed report lacks %q", want)
		}
	}
}

// TestHarnessPartialMix: a mix without some operations (here only
// getPersonInfo, so no refresh chains) runs to the end. It used to wait
// forever for a refresh chain while capturing responses.
func TestHarnessPartialMix(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three servers and seeds a store (~10 s)")
	}
	type result struct {
		rep *Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
		defer cancel()
		rep, err := Run(ctx, Config{
			Dir: t.TempDir(), People: 100, Concurrency: 2, OpenConns: 4,
			Warmup: 100 * time.Millisecond, Duration: 500 * time.Millisecond, Drain: 2 * time.Second,
			Runs: 1, UsersPerTenant: 1, ChainsPerTenant: 1, ChildArgs: []string{},
			Mix: "getPersonInfo=1", Progress: io.Discard,
		})
		done <- result{rep, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("run: %v", r.err)
		}
		if r.rep.Errors() != 0 || r.rep.Chains != 1 || len(r.rep.Runs) != 1 {
			t.Errorf("errors %d, chains %d, runs %d", r.rep.Errors(), r.rep.Chains, len(r.rep.Runs))
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the harness did not finish within 60 s with a mix of only getPersonInfo")
	}
}

func TestParseMix(t *testing.T) {
	table, err := parseMix("getPersonInfo=3, tools/list=1,addNote=0")
	if err != nil || len(table) != 4 || table[0] != opInfo || table[3] != opList {
		t.Errorf("parseMix = %v, %v", table, err)
	}
	for _, bad := range []string{"", "nope=1", "getPersonInfo", "getPersonInfo=-1", "addNote=0"} {
		if _, err := parseMix(bad); err == nil {
			t.Errorf("parseMix(%q) accepted", bad)
		}
	}
}
