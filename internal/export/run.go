package export

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/outputguard"
)

// Reason says why an export stopped. Anything but Complete means the file
// holds only part of the matching rows.
type Reason string

// Reasons.
const (
	// Complete: every matching row is in the file.
	Complete Reason = "complete"
	// Cap: the row cap (or the byte cap) was reached.
	Cap Reason = "cap"
	// Deadline: the wall-clock deadline of the whole export was reached.
	Deadline Reason = "deadline"
	// Incomplete: a page timed out or the CRM failed; the file holds the
	// rows exported before.
	Incomplete Reason = "incomplete"
)

// Detail refines a Reason, in the vocabulary of security catalog O-19.
type Detail string

// Details.
const (
	DetailNone          Detail = ""
	DetailRowCap        Detail = "row_cap"
	DetailSizeCap       Detail = "size_cap"
	DetailDeadline      Detail = "deadline"
	DetailPageTimeout   Detail = "page_timeout"
	DetailUpstreamError Detail = "upstream_error"
)

// Default limits.
const (
	DefaultMaxRows     = 1000
	DefaultDeadline    = 120 * time.Second
	DefaultPageTimeout = 15 * time.Second
	DefaultPageSize    = 100
	DefaultMaxBytes    = 8 << 20
)

// Limits bound one export. The zero value means the defaults.
type Limits struct {
	// MaxRows is the row cap. If zero, DefaultMaxRows.
	MaxRows int
	// Deadline bounds the whole export, from the start of Run. If zero,
	// DefaultDeadline.
	Deadline time.Duration
	// PageTimeout bounds each page (each call of Source.Fetch), within the
	// deadline. If zero, DefaultPageTimeout.
	PageTimeout time.Duration
	// PageSize is how many rows one page asks for. If zero,
	// DefaultPageSize.
	PageSize int
	// MaxBytes bounds the file; the row that would cross it is not
	// written (Cap, DetailSizeCap). If zero, DefaultMaxBytes.
	MaxBytes int
}

// WithDefaults returns l with every zero field set to its default.
func (l Limits) WithDefaults() Limits {
	if l.MaxRows <= 0 {
		l.MaxRows = DefaultMaxRows
	}
	if l.Deadline <= 0 {
		l.Deadline = DefaultDeadline
	}
	if l.PageTimeout <= 0 {
		l.PageTimeout = DefaultPageTimeout
	}
	if l.PageSize <= 0 {
		l.PageSize = DefaultPageSize
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	return l
}

// Column is one allow-listed column: its header and how a row fills it.
type Column[R any] struct {
	Name  string
	Value func(R) string
}

// Table is the allow-list of the columns an export of R may have.
type Table[R any] struct {
	cols []Column[R]
}

// NewTable returns the allow-list cols, in this order. It panics on an
// empty list, an empty or duplicate name or a nil Value: tables are static
// definitions.
func NewTable[R any](cols ...Column[R]) *Table[R] {
	if len(cols) == 0 {
		panic("export: empty table")
	}
	seen := map[string]bool{}
	for _, c := range cols {
		if c.Name == "" || c.Value == nil || seen[c.Name] {
			panic("export: bad or duplicate column " + strconv.Quote(c.Name))
		}
		seen[c.Name] = true
	}
	return &Table[R]{cols: slices.Clone(cols)}
}

// Names returns every column name, in table order.
func (t *Table[R]) Names() []string {
	names := make([]string, len(t.cols))
	for i, c := range t.cols {
		names[i] = c.Name
	}
	return names
}

// ErrUnknownColumn is returned by Select for a name not in the table.
var ErrUnknownColumn = errors.New("export: unknown column")

// Select returns the columns named, in the order given, or every column
// when names is empty. A name not in the table is ErrUnknownColumn; a
// repeated name is kept once.
func (t *Table[R]) Select(names []string) ([]Column[R], error) {
	if len(names) == 0 {
		return slices.Clone(t.cols), nil
	}
	var out []Column[R]
	seen := map[string]bool{}
	for _, n := range names {
		i := slices.IndexFunc(t.cols, func(c Column[R]) bool { return c.Name == n })
		if i < 0 {
			return nil, ErrUnknownColumn
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, t.cols[i])
		}
	}
	return out, nil
}

// Source is what an export pages through.
type Source[R any] struct {
	// Total is how many rows match, as far as known; it may exceed Len
	// (a search keeps at most 1 000 ids). It is reported, and a Total
	// above what the export could fetch makes the reason Cap.
	Total int
	// Len is how many rows Fetch can return: it is called with ranges
	// [start, end) within [0, min(Len, MaxRows)).
	Len int
	// Fetch returns the rows of [start, end), fewer if some no longer
	// exist. It must honour ctx (the page's timeout and the request's
	// cancellation).
	Fetch func(ctx context.Context, start, end int) ([]R, error)
}

// Result is a finished export.
type Result struct {
	// CSV is the file: a header record and Rows data records.
	CSV []byte
	// Columns are the header's names.
	Columns []string
	// Rows is how many data rows the file holds.
	Rows int
	// Total is how many rows matched (at least Rows).
	Total  int
	Reason Reason
	Detail Detail
	// Err is the error that made an export Incomplete, for the caller's
	// log (never for the model); nil otherwise.
	Err error
	// Limits are the limits the export ran under (defaults applied).
	Limits Limits
}

// The causes of the export's and a page's contexts; both match
// context.DeadlineExceeded.
var (
	errDeadline    = fmt.Errorf("export: deadline reached: %w", context.DeadlineExceeded)
	errPageTimeout = fmt.Errorf("export: page timed out: %w", context.DeadlineExceeded)
)

// Run writes the export of src with cols under lim. Every cell passes
// through clean (outputguard.Sanitize if nil: no invisible characters and
// no <tool-data> boundary look-alike reach a model that reads the file),
// then Guard. It returns an error only when ctx ends (the request was
// cancelled or its own deadline passed): then nobody waits for the file.
// Every other stop is a Result with its Reason.
func Run[R any](ctx context.Context, lim Limits, cols []Column[R], src Source[R], clean func(string) string) (*Result, error) {
	lim = lim.WithDefaults()
	if clean == nil {
		clean = outputguard.Sanitize
	}
	res := &Result{Limits: lim, Total: max(src.Total, src.Len), Reason: Complete}
	cells := make([]string, len(cols))
	for i, c := range cols {
		res.Columns = append(res.Columns, c.Name)
		cells[i] = c.Name
	}
	res.CSV = AppendRecord(nil, cells)

	runCtx, cancel := context.WithTimeoutCause(ctx, lim.Deadline, errDeadline)
	defer cancel()
	n := min(src.Len, lim.MaxRows)
	var rec []byte
	for start := 0; start < n; start += lim.PageSize {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if runCtx.Err() != nil {
			res.Reason, res.Detail = Deadline, DetailDeadline
			return res, nil
		}
		rows, err := fetchPage(runCtx, lim.PageTimeout, src.Fetch, start, min(start+lim.PageSize, n))
		if err != nil {
			switch {
			case ctx.Err() != nil:
				return nil, ctx.Err()
			case errors.Is(err, errDeadline):
				res.Reason, res.Detail = Deadline, DetailDeadline
			case errors.Is(err, errPageTimeout):
				res.Reason, res.Detail, res.Err = Incomplete, DetailPageTimeout, err
			default:
				res.Reason, res.Detail, res.Err = Incomplete, DetailUpstreamError, err
			}
			return res, nil
		}
		for _, r := range rows {
			for i, c := range cols {
				cells[i] = clean(c.Value(r))
			}
			rec = AppendRecord(rec[:0], cells)
			if len(res.CSV)+len(rec) > lim.MaxBytes {
				res.Reason, res.Detail = Cap, DetailSizeCap
				return res, nil
			}
			res.CSV = append(res.CSV, rec...)
			res.Rows++
		}
	}
	if res.Total > n {
		res.Reason, res.Detail = Cap, DetailRowCap
	}
	res.Total = max(res.Total, res.Rows)
	return res, nil
}

// fetchPage calls fetch for [start, end) with the page timeout. It returns
// when the page answers or its context ends, whichever is first: a Fetch
// that ignored its context could not hold the export past its limits (its
// late answer is dropped). A context end is reported as errDeadline or
// errPageTimeout (or the parent's error).
func fetchPage[R any](ctx context.Context, timeout time.Duration, fetch func(context.Context, int, int) ([]R, error), start, end int) ([]R, error) {
	pctx, cancel := context.WithTimeoutCause(ctx, timeout, errPageTimeout)
	defer cancel()
	type answer struct {
		rows []R
		err  error
	}
	ch := make(chan answer, 1)
	go func() {
		rows, err := fetch(pctx, start, end)
		ch <- answer{rows, err}
	}()
	select {
	case a := <-ch:
		if pctx.Err() == nil {
			return a.rows, a.err
		}
	case <-pctx.Done():
	}
	return nil, context.Cause(pctx)
}

// Summary is the one-line account of r for the tool's text, e.g.
// "Exported 1 000 of 3 412 rows: row cap reached (at most 1 000 rows per
// export).".
func (r *Result) Summary() string {
	head := fmt.Sprintf("Exported %s of %s rows: ", group(r.Rows), group(r.Total))
	switch r.Detail {
	case DetailRowCap:
		return head + fmt.Sprintf("row cap reached (at most %s rows per export). Narrow the search or filters to export the rest.", group(r.Limits.MaxRows))
	case DetailSizeCap:
		return head + fmt.Sprintf("size cap reached (at most %s per file). Export fewer columns or narrow the search to export the rest.", sizeText(r.Limits.MaxBytes))
	case DetailDeadline:
		return head + fmt.Sprintf("deadline reached (an export may take at most %s). The file holds the rows exported so far; narrow the export or try again later.", durText(r.Limits.Deadline))
	case DetailPageTimeout:
		return head + fmt.Sprintf("incomplete, the CRM did not answer a page within %s. The file holds the rows exported before; try again shortly.", durText(r.Limits.PageTimeout))
	case DetailUpstreamError:
		return head + "incomplete, the CRM failed during the export. The file holds the rows exported before; try again shortly."
	}
	return head + "complete."
}

// group writes n with a space between thousands: 3 412, 1 000 000.
func group(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func sizeText(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + " KiB"
	}
	return strconv.Itoa(n) + " bytes"
}

func durText(d time.Duration) string {
	if d >= time.Second && d%time.Second == 0 {
		return strconv.Itoa(int(d/time.Second)) + " s"
	}
	return d.String()
}
