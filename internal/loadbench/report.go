package loadbench

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// stat is the median and range of one figure over the runs.
type stat struct{ med, lo, hi float64 }

func statOf(xs []float64) stat {
	if len(xs) == 0 {
		return stat{-1, -1, -1}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return stat{med, s[0], s[len(s)-1]}
}

func (s stat) format(prec int) string {
	if s.med < 0 {
		return "n/a"
	}
	if s.lo == s.hi {
		return fmt.Sprintf("%.*f", prec, s.med)
	}
	return fmt.Sprintf("%.*f (%.*f–%.*f)", prec, s.med, prec, s.lo, prec, s.hi)
}

// series collects f over the runs for one target and phase.
func (r *Report) series(target, phase string, f func(PhaseReport) float64) stat {
	var xs []float64
	for _, run := range r.Runs {
		for _, p := range run.Phases {
			if p.Target == target && p.Phase == phase {
				if v := f(p); v >= 0 {
					xs = append(xs, v)
				}
			}
		}
	}
	return statOf(xs)
}

func (r *Report) ratio(floor string, f func(Ratio) float64) stat {
	var xs []float64
	for _, run := range r.Runs {
		if v := f(run.Ratios[floor]); v >= 0 {
			xs = append(xs, v)
		}
	}
	return statOf(xs)
}

// Print writes the report as Markdown tables: medians over the runs with
// the range in brackets.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "crm-mcp bench: %d people/tenant, %d tenants, %d users, %d refresh chains, %d closed-loop connections, pinned %v, %d run(s)\n",
		r.People, r.Tenants, r.Users, r.Chains, r.Concurrency, r.Pinned, len(r.Runs))
	fmt.Fprintf(w, "mix %s\nload average at start %s, at end %s\n\n", r.Mix, r.LoadAvgStart, r.LoadAvgEnd)
	targets := []string{targetStack, targetFloorSQL, targetFloorBytes}
	fmt.Fprintln(w, "| target | max req/s | server CPU µs/req | client CPU µs/req | open-loop req/s | open p50 ms | open p99 ms | errors |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, t := range targets {
		errs := 0
		for _, run := range r.Runs {
			for _, p := range run.Phases {
				if p.Target == t {
					errs += p.Errors + p.Dropped
				}
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %d |\n", t,
			r.series(t, "max", func(p PhaseReport) float64 { return p.Rate }).format(0),
			r.series(t, "max", func(p PhaseReport) float64 { return p.ServerCPU }).format(0),
			r.series(t, "max", func(p PhaseReport) float64 { return p.ClientCPU }).format(0),
			r.series(t, "open", func(p PhaseReport) float64 { return p.Rate }).format(0),
			r.series(t, "open", func(p PhaseReport) float64 { return p.P50 }).format(2),
			r.series(t, "open", func(p PhaseReport) float64 { return p.P99 }).format(2), errs)
	}
	fmt.Fprintln(w, "\nstack ÷ floor (per run, same invocation; floor cost ÷ stack cost, 1 = as cheap as the floor):")
	fmt.Fprintln(w, "\n| floor | throughput | server CPU per request |")
	fmt.Fprintln(w, "|---|---|---|")
	for _, f := range []string{targetFloorSQL, targetFloorBytes} {
		fmt.Fprintf(w, "| %s | %s | %s |\n", f,
			r.ratio(f, func(x Ratio) float64 { return x.Throughput }).format(3),
			r.ratio(f, func(x Ratio) float64 { return x.CPU }).format(3))
	}
	fmt.Fprintln(w, "\nper operation, open loop (p50 / p99 ms, medians over runs); share = of the stack's closed-loop requests:")
	fmt.Fprintln(w, "\n| operation | share | stack p50 | stack p99 | floor-sql p50 | floor-sql p99 | floor-bytes p50 | floor-bytes p99 |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, op := range allOps {
		opf := func(get func(OpReport) float64) func(PhaseReport) float64 {
			return func(p PhaseReport) float64 {
				o, ok := p.Ops[op]
				if !ok || o.Count == 0 {
					return -1
				}
				return get(o)
			}
		}
		share := r.series(targetStack, "max", func(p PhaseReport) float64 {
			if p.Requests == 0 {
				return -1
			}
			return 100 * float64(p.Ops[op].Count) / float64(p.Requests)
		})
		cells := []string{op, share.format(0) + " %"}
		for _, t := range targets {
			cells = append(cells,
				r.series(t, "open", opf(func(o OpReport) float64 { return o.P50 })).format(2),
				r.series(t, "open", opf(func(o OpReport) float64 { return o.P99 })).format(2))
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	}
	for i, run := range r.Runs {
		for _, p := range run.Phases {
			for op, o := range p.Ops {
				if o.Errors > 0 {
					fmt.Fprintf(w, "\nrun %d %s %s %s: %d errors, first: %s", i+1, p.Target, p.Phase, op, o.Errors, o.FirstErr)
				}
			}
		}
	}
	fmt.Fprintln(w)
}
