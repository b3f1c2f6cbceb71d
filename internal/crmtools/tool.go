package crmtools

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/crm-mcp/crm-mcp/internal/crm"
	"github.com/crm-mcp/crm-mcp/internal/crm/api"
	"github.com/crm-mcp/crm-mcp/internal/export"
	"github.com/crm-mcp/crm-mcp/internal/outputguard"
	"github.com/crm-mcp/crm-mcp/internal/state"
	"github.com/crm-mcp/crm-mcp/internal/tenant"
	"github.com/crm-mcp/crm-mcp/internal/tools"
)

// deps is Deps with defaults applied.
type deps struct {
	crm       CRM
	snapshots state.Snapshots
	logger    *slog.Logger
	now       func() time.Time
	requestID func(context.Context) string
	exports   ExportPublisher
	exportLim export.Limits
	embedMax  int
}

func newDeps(d Deps) *deps {
	n := &deps{crm: d.CRM, snapshots: d.Snapshots, logger: d.Logger, now: d.Now, requestID: d.RequestID,
		exports: d.Exports, exportLim: d.ExportLimits.WithDefaults(), embedMax: d.ExportEmbedMax}
	if n.embedMax <= 0 {
		n.embedMax = DefaultExportEmbedMax
	}
	if n.logger == nil {
		n.logger = slog.New(slog.DiscardHandler)
	}
	if n.now == nil {
		n.now = time.Now
	}
	return n
}

// effect says what a tool does to the CRM; it decides the annotations.
type effect int

const (
	// reads only.
	reads effect = iota
	// adds a record; calling twice adds two.
	adds
	// adds or completes something; calling twice has no further effect.
	addsOnce
	// overwrites existing values; calling twice with the same arguments
	// has no further effect.
	overwrites
)

// spec is the static description of one tool.
type spec struct {
	name, title, description string
	toolset                  string
	scope                    string
	effect                   effect
	// invalid completes "The input was not accepted: " when the CRM
	// answers crm.ErrInvalid. It is our own fixed wording: the CRM's
	// messages never reach the model.
	invalid string
	// conflict is the message for crm.ErrConflict.
	conflict string
}

func ptr[T any](v T) *T { return &v }

func (s spec) annotations() *mcp.ToolAnnotations {
	a := &mcp.ToolAnnotations{Title: s.title, OpenWorldHint: ptr(false)}
	switch s.effect {
	case reads:
		a.ReadOnlyHint, a.DestructiveHint, a.IdempotentHint = true, ptr(false), true
	case adds:
		a.DestructiveHint = ptr(false)
	case addsOnce:
		a.DestructiveHint, a.IdempotentHint = ptr(false), true
	case overwrites:
		a.DestructiveHint, a.IdempotentHint = ptr(true), true
	}
	return a
}

// call is one tool invocation: the caller and the tool.
type call struct {
	*deps
	p    tenant.Principal
	spec *spec
}

// newTool binds run and render into a tools.Registered. The handler it
// builds checks the principal, recovers panics, translates errors (see
// fail), sanitises every string of the output and sets the text: render
// applied to the sanitised output, inside one outputguard boundary.
func newTool[In, Out any](d *deps, s spec, run func(ctx context.Context, c *call, in In) (Out, error), render func(*Out) string) tools.Registered {
	sp := s
	tool := &mcp.Tool{
		Name:        s.name,
		Title:       s.title,
		Description: s.description,
		Annotations: s.annotations(),
		InputSchema: inputSchema[In](),
	}
	h := func(ctx context.Context, _ *mcp.CallToolRequest, in In) (out Out, err error) {
		var zero Out
		p, ok := tenant.FromContext(ctx)
		if !ok {
			return zero, d.fail(ctx, sp.name, errNoPrincipal)
		}
		defer func() {
			if v := recover(); v != nil {
				out, err = zero, d.fail(ctx, sp.name, &panicError{class: fmt.Sprintf("%T", v)})
			}
		}()
		out, err = run(ctx, &call{deps: d, p: p, spec: &sp}, in)
		if err != nil {
			return zero, d.fail(ctx, sp.name, err)
		}
		out = sanitized(out)
		setText(ctx, outputguard.Wrap(strings.TrimRight(render(&out), "\n")))
		return out, nil
	}
	return tools.New(tools.Def{Tool: tool, Scopes: []string{s.scope}, Toolset: s.toolset}, h)
}

// sanitized returns v with outputguard.Sanitize applied to every string it
// reaches (fields, elements, pointees, map keys and values). It never
// modifies v: whatever changes is copied, so slices shared with the CRM
// client's records stay untouched.
func sanitized[T any](v T) T {
	nv, changed := clean(reflect.ValueOf(&v).Elem())
	if !changed {
		return v
	}
	return nv.Interface().(T)
}

func clean(v reflect.Value) (reflect.Value, bool) {
	switch v.Kind() {
	case reflect.String:
		s := v.String()
		if c := outputguard.Sanitize(s); c != s {
			return reflect.ValueOf(c).Convert(v.Type()), true
		}
	case reflect.Pointer:
		if v.IsNil() {
			break
		}
		if e, ok := clean(v.Elem()); ok {
			p := reflect.New(v.Type().Elem())
			p.Elem().Set(e)
			return p, true
		}
	case reflect.Interface:
		if v.IsNil() {
			break
		}
		if e, ok := clean(v.Elem()); ok {
			i := reflect.New(v.Type()).Elem()
			i.Set(e)
			return i, true
		}
	case reflect.Struct:
		var cp reflect.Value
		for i := range v.NumField() {
			if !v.Type().Field(i).IsExported() {
				continue
			}
			if f, ok := clean(v.Field(i)); ok {
				if !cp.IsValid() {
					cp = reflect.New(v.Type()).Elem()
					cp.Set(v)
				}
				cp.Field(i).Set(f)
			}
		}
		if cp.IsValid() {
			return cp, true
		}
	case reflect.Slice, reflect.Array:
		var cp reflect.Value
		for i := range v.Len() {
			if e, ok := clean(v.Index(i)); ok {
				if !cp.IsValid() {
					if v.Kind() == reflect.Slice {
						cp = reflect.MakeSlice(v.Type(), v.Len(), v.Len())
					} else {
						cp = reflect.New(v.Type()).Elem()
					}
					reflect.Copy(cp, v)
				}
				cp.Index(i).Set(e)
			}
		}
		if cp.IsValid() {
			return cp, true
		}
	case reflect.Map:
		if v.IsNil() {
			break
		}
		changed := false
		cp := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			k, kc := clean(it.Key())
			e, ec := clean(it.Value())
			changed = changed || kc || ec
			cp.SetMapIndex(k, e)
		}
		if changed {
			return cp, true
		}
	}
	return v, false
}

// Errors and what the model sees.

// userError is an expected failure with a fixed, model-actionable message
// in our own wording. It is not logged.
type userError struct{ msg string }

func (e *userError) Error() string { return e.msg }

// panicError stands for a recovered panic; only the panic value's type is
// kept.
type panicError struct{ class string }

func (e *panicError) Error() string { return "panic" }

var errNoPrincipal = errors.New("crmtools: no principal in context")

// textError is what a handler returns to package tools for a failure: its
// text is the whole, wrapped, model-facing message.
type textError struct{ text string }

func (e *textError) Error() string { return e.text }

func notFound(what, id string) error {
	return &userError{msg: fmt.Sprintf("No %s with id %q in your CRM.", what, clip(id, 100))}
}

func invalidf(format string, args ...any) error {
	return &userError{msg: "The input was not accepted: " + fmt.Sprintf(format, args...)}
}

// crmErr translates an error from the CRM. what and id name the record
// whose absence crm.ErrNotFound means (empty what: a not-found is
// unexpected). Expected failures become userErrors with our wording; the
// rest is returned as is, for fail.
func (c *call) crmErr(err error, what, id string) error {
	switch {
	case err == nil:
		return nil
	case what != "" && errors.Is(err, crm.ErrNotFound):
		return notFound(what, id)
	case errors.Is(err, crm.ErrInvalid):
		msg := c.spec.invalid
		if msg == "" {
			msg = "check that every id exists in your CRM and that the values are within limits."
		}
		return &userError{msg: "The input was not accepted: " + msg}
	case errors.Is(err, crm.ErrConflict):
		msg := c.spec.conflict
		if msg == "" {
			msg = "This conflicts with an existing record in your CRM."
		}
		return &userError{msg: msg}
	}
	return err
}

// fail turns err into the error the handler returns: the wrapped model
// message, also stored as the call's text. Unexpected errors are logged
// with the tool's name, the error's Go type and a code only.
func (d *deps) fail(ctx context.Context, tool string, err error) error {
	var msg string
	if ue, ok := errors.AsType[*userError](err); ok {
		msg = ue.msg
	} else {
		rid := ""
		if d.requestID != nil {
			rid = d.requestID(ctx)
		}
		attrs := []slog.Attr{
			slog.String("tool", tool),
			slog.String("err_class", errClass(err)),
			slog.String("code", errCode(err)),
		}
		if rid == "" {
			rid = randomHex(6)
			attrs = append(attrs, slog.String("request_id", rid))
		}
		d.logger.LogAttrs(ctx, slog.LevelError, "tool failed", attrs...)
		switch {
		case errors.Is(err, errNoPrincipal):
			msg = fmt.Sprintf("This tool needs a signed-in CRM user, and none was found (request id %s). Reconnect the CRM and try again.", rid)
		case isPanic(err):
			msg = fmt.Sprintf("The tool hit an internal error (request id %s). Try again, or use another tool.", rid)
		default:
			msg = fmt.Sprintf("The CRM is not reachable right now (request id %s). Try again shortly.", rid)
		}
	}
	text := outputguard.Wrap(msg)
	setText(ctx, text)
	return &textError{text: text}
}

func isPanic(err error) bool {
	_, ok := errors.AsType[*panicError](err)
	return ok
}

func errClass(err error) string {
	if pe, ok := errors.AsType[*panicError](err); ok {
		return pe.class
	}
	return fmt.Sprintf("%T", err)
}

// errCode classifies err into a closed vocabulary, so that nothing an
// upstream wrote (an API error code is read from its response body) reaches
// the log.
func errCode(err error) string {
	switch {
	case errors.Is(err, errNoPrincipal):
		return "no_principal"
	case isPanic(err):
		return "panic"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline"
	case errors.Is(err, api.ErrUnauthorized):
		return "unauthorized"
	}
	if ae, ok := errors.AsType[*api.Error](err); ok {
		switch ae.Code {
		case "not_found", "invalid", "conflict", "unavailable", "internal":
			return "api_" + ae.Code
		}
		return "api_status_" + strconv.Itoa(ae.Status)
	}
	switch {
	case errors.Is(err, state.ErrUnavailable):
		return "state_unavailable"
	case errors.Is(err, crm.ErrUnavailable):
		return "unavailable"
	case errors.Is(err, crm.ErrNotFound):
		return "not_found"
	case errors.Is(err, crm.ErrInvalid):
		return "invalid"
	case errors.Is(err, crm.ErrConflict):
		return "conflict"
	}
	return "unknown"
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// clip shortens s to at most n runes, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j] + "…"
		}
		i++
	}
	return s
}
