package sqlite

import (
	"context"
	"database/sql"
	"time"
)

// Full-text index upkeep.
//
// FTS5 keeps each index as a set of segments. Every write transaction adds
// a small one, and a contentless_delete table records a deleted or
// rewritten row (every note rewrites its person's row) as a tombstone that
// each query has to check. FTS5's automerge bounds the number of segments
// but leaves the index in several, with tombstones, and every MATCH then
// merges those segments' doclists row by row. Merging the people index
// into one segment took "Go" in Berlin from ~15.5 to ~12 ms on the load
// harness's 3 × 100 000 people, and from 12.1 to 11.1 ms (medians) on the
// app benchmark's less fragmented 2 × 100 000 (docs/performance.md,
// "Fifth session").
//
// So the store merges its full-text indexes into one segment each, in the
// background, every Options.MaintainEvery (the first time that long after
// Open, so that short-lived processes such as benchmarks and the seed
// command never pay for it; a bulk load merges when it ends instead, see
// app.SeedDemo). A pass with nothing to merge costs one short write
// transaction. One with work rewrites the whole index (0.56 s of CPU in 32
// steps of ~24 ms for 2 × 100 000 people), in steps of mergePagesPerStep
// leaf pages, each its own write transaction, so writers wait at most one
// step.
//
// A merge into one segment rewrites the whole index however little
// changed, so a pass after the first runs only once this process has
// rewritten Options.MergeAfterWrites full-text rows (default 1 000, 1 %
// of a 100 000-person tenant) since the last merge. Fewer writes leave a
// few small segments and tombstones, which FTS5's own automerge keeps
// bounded and which cost a query next to nothing.

// ftsTables are the full-text indexes the upkeep merges.
var ftsTables = []string{"people_fts", "companies_fts", "jobs_fts"}

// mergePagesPerStep bounds the work of one merge step (and so how long it
// holds the write lock).
const mergePagesPerStep = 200

// defaultMaintainEvery is Options.MaintainEvery's default.
const defaultMaintainEvery = 5 * time.Minute

// defaultMergeAfterWrites is Options.MergeAfterWrites's default.
const defaultMergeAfterWrites = 1000

// MergeSearchIndexes merges each full-text index into a single segment
// without tombstones, in bounded steps, and returns the number of steps
// that did work (0: nothing to merge). It stops early, with ctx's error,
// when ctx ends.
func (s *Store) MergeSearchIndexes(ctx context.Context) (steps int, err error) {
	for _, table := range ftsTables {
		for {
			if err := ctx.Err(); err != nil {
				return steps, err
			}
			var worked bool
			err := s.write(ctx, "merge search index", func(tx *sql.Tx) error {
				var err error
				worked, err = mergeStep(ctx, tx, table)
				return err
			})
			if err != nil {
				return steps, err
			}
			if !worked {
				break
			}
			steps++
		}
	}
	return steps, nil
}

// mergeStep runs one bounded 'merge' on table. A negative page count
// makes FTS5 first put every segment on one level, so that repeated
// steps end in a single segment (an incremental 'optimize'). SQLite
// documents the way to tell whether the step did anything: the total
// change count grows by 2 or more.
func mergeStep(ctx context.Context, tx *sql.Tx, table string) (worked bool, err error) {
	var before, after int64
	if err := tx.QueryRowContext(ctx, `SELECT total_changes()`).Scan(&before); err != nil {
		return false, err
	}
	// table comes from ftsTables, never from input.
	if _, err := tx.ExecContext(ctx, `INSERT INTO `+table+` (`+table+`, rank) VALUES ('merge', ?)`, -mergePagesPerStep); err != nil {
		return false, err
	}
	if err := tx.QueryRowContext(ctx, `SELECT total_changes()`).Scan(&after); err != nil {
		return false, err
	}
	return after-before >= 2, nil
}

// maintain runs MergeSearchIndexes every interval until ctx ends; report
// (if not nil) gets each pass's result.
func (s *Store) maintain(ctx context.Context, interval time.Duration, report func(steps int, took time.Duration, err error)) {
	defer close(s.maintainDone)
	timer := time.NewTimer(interval)
	defer timer.Stop()
	first := true
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		start := time.Now()
		var (
			steps int
			err   error
		)
		// The first pass always runs: an earlier process may have left
		// the index fragmented. Writes during a pass count for the next.
		if writes := s.ftsWrites.Swap(0); first || writes >= s.mergeAfterWrites {
			steps, err = s.MergeSearchIndexes(ctx)
		} else {
			s.ftsWrites.Add(writes)
		}
		first = false
		if ctx.Err() != nil {
			return
		}
		if report != nil {
			report(steps, time.Since(start), err)
		}
		timer.Reset(interval)
	}
}
