package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Def is the static part of a tool definition.
type Def struct {
	// Tool is the tool as listed by tools/list. Its InputSchema and
	// OutputSchema may be left nil (the usual case): New infers them from the
	// handler's In and Out types, exactly as mcp.AddTool does. A schema that is
	// set is used as given (any value that marshals to a JSON Schema). New
	// copies Tool; it is not modified.
	Tool *mcp.Tool
	// Scopes are the OAuth scopes a caller needs to see and call the tool
	// (carried for the registry; this package does not enforce them).
	Scopes []string
	// Toolset is the group the tool belongs to.
	Toolset string
	// Streams reports whether the handler sends notifications (progress,
	// log messages) or server→client requests while it runs.
	Streams bool
}

// Handler is a typed tool handler. Its input has been validated against the
// tool's input schema (after the schema's defaults were applied). The output
// becomes the result's structuredContent and, as JSON text, its content. A
// returned *jsonrpc.Error is sent as a JSON-RPC error; any other error
// becomes an IsError result whose text is err.Error(), as with mcp.AddTool:
// return model-safe messages.
type Handler[In, Out any] func(ctx context.Context, req *mcp.CallToolRequest, in In) (Out, error)

// ErrPanicked is the error recorded (see [mcp.CallToolResult.GetError]) in
// the IsError result that replaces the answer of a handler that panicked. Its
// text, the only thing the client sees, is "internal error".
var ErrPanicked = errors.New("internal error")

// Registered is a tool bound to its handler, ready to be registered on any
// number of servers. The zero value is not usable; build one with [New].
type Registered struct {
	def  Def
	tool *mcp.Tool // copy of def.Tool with pre-serialised schemas
	call func(ctx context.Context, req *mcp.CallToolRequest, o Options) (*mcp.CallToolResult, error)
}

// Options configure [Registered.RegisterWith]. The zero value is valid.
type Options struct {
	// Logger receives one record per recovered handler panic, with the
	// tool's name and the panic value's Go type only (never the value). If
	// nil, panics are recovered silently.
	Logger *slog.Logger
	// TrustOutput skips validating each result's structuredContent against
	// the tool's output schema (go-sdk's AddTool validates every one: an
	// unmarshal, a schema walk and a marshal, 13 % of a getPersonInfo's CPU
	// through the whole stack). Set it only for tools whose Out types are
	// where the output schema comes from, so the shape cannot drift from
	// the schema, and whose tests run with validation on and check every
	// tool's output against its schema.
	TrustOutput bool
}

// New binds def to h. It infers the input schema from In (unless
// def.Tool.InputSchema is set) and the output schema from Out (unless
// def.Tool.OutputSchema is set, or Out is any: then there is none), resolves
// both once and stores them pre-serialised, with the rules of mcp.AddTool: In
// must be a struct or map type (or any, meaning {"type":"object"}), pointer
// types are treated as their element types.
//
// Like mcp.AddTool, New panics if def.Tool is nil or a schema cannot be
// inferred or resolved: tool definitions are static, so this is a
// programming error found at start-up.
func New[In, Out any](def Def, h Handler[In, Out]) Registered {
	if def.Tool == nil {
		panic("tools.New: nil Tool")
	}
	tt := *def.Tool
	c, err := compile[In, Out](&tt)
	if err != nil {
		panic(fmt.Sprintf("tools.New: tool %q: %v", tt.Name, err))
	}
	name := tt.Name
	return Registered{
		def:  def,
		tool: &tt,
		call: func(ctx context.Context, req *mcp.CallToolRequest, o Options) (*mcp.CallToolResult, error) {
			return handle(ctx, c, req, name, h, o)
		},
	}
}

// Def returns the definition the tool was built from.
func (r Registered) Def() Def { return r.def }

// Tool returns a copy of the tool as registered: def.Tool with its input and
// output schemas as pre-serialised JSON (json.RawMessage).
func (r Registered) Tool() *mcp.Tool {
	t := *r.tool
	return &t
}

// Register adds the tool to s with s.AddTool, replacing a tool of the same
// name. Handler panics are recovered and not logged; see [Registered.RegisterWith].
func (r Registered) Register(s *mcp.Server) { r.RegisterWith(s, nil) }

// RegisterWith is Register with options.
func (r Registered) RegisterWith(s *mcp.Server, opts *Options) {
	var o Options
	if opts != nil {
		o = *opts
	}
	t := *r.tool
	call := r.call
	s.AddTool(&t, func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return call(ctx, req, o)
	})
}

// compiled holds what New derives once per tool.
type compiled struct {
	in, out *jsonschema.Resolved
	// outZero, if non-nil, replaces a nil pointer output (Out is a pointer
	// type): mcp.AddTool's elemZero.
	outZero any
	// defaults reports whether the input schema has defaults that
	// ApplyDefaults may insert.
	defaults bool
	// direct reports whether arguments may be decoded straight into In
	// when fastArgs allows it (see decodeInput).
	direct bool
}

// compile mirrors go-sdk's toolForErr: it sets tt's schemas (as
// json.RawMessage) and resolves them.
func compile[In, Out any](tt *mcp.Tool) (*compiled, error) {
	c := new(compiled)
	inT, outT := reflect.TypeFor[In](), reflect.TypeFor[Out]()
	anyT := reflect.TypeFor[any]()

	// Special handling for an "any" input: treat as an empty object.
	if inT == anyT && tt.InputSchema == nil {
		tt.InputSchema = &jsonschema.Schema{Type: "object"}
	}
	raw, resolved, _, err := schemaFor(inT, tt.InputSchema)
	if err != nil {
		return nil, fmt.Errorf("input schema: %w", err)
	}
	tt.InputSchema, c.in = raw, resolved
	c.defaults = hasDefaults(resolved.Schema())
	c.direct = !c.defaults && plainType(inT, map[reflect.Type]bool{})

	if tt.OutputSchema != nil || outT != anyT {
		raw, resolved, zero, err := schemaFor(outT, tt.OutputSchema)
		if err != nil {
			return nil, fmt.Errorf("output schema: %v", err)
		}
		tt.OutputSchema, c.out, c.outZero = raw, resolved, zero
	}
	return c, nil
}

// schemaFor mirrors go-sdk's setSchema (without its optional cache, which
// does not change results): the schema provided, or the one inferred from t
// with pointers removed, resolved with ValidateDefaults. It returns the
// schema's JSON, as go-sdk would marshal it in tools/list.
func schemaFor(t reflect.Type, provided any) (json.RawMessage, *jsonschema.Resolved, any, error) {
	var zero any
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
		zero = reflect.Zero(t).Interface()
	}
	var s *jsonschema.Schema
	switch p := provided.(type) {
	case nil:
		var err error
		if s, err = jsonschema.ForType(t, &jsonschema.ForOptions{}); err != nil {
			return nil, nil, nil, err
		}
		provided = s
	case *jsonschema.Schema:
		s = p
	default:
		// Any other representation (map, json.RawMessage): remarshal, as go-sdk does.
		data, err := json.Marshal(provided)
		if err != nil {
			return nil, nil, nil, err
		}
		if err := unmarshal(data, &s); err != nil {
			return nil, nil, nil, err
		}
	}
	if s == nil {
		return nil, nil, nil, fmt.Errorf("schema is nil for type %v", t)
	}
	resolved, err := s.Resolve(&jsonschema.ResolveOptions{ValidateDefaults: true})
	if err != nil {
		return nil, nil, nil, err
	}
	raw, err := json.Marshal(provided)
	if err != nil {
		return nil, nil, nil, err
	}
	return raw, resolved, zero, nil
}

// handle is the raw handler: what mcp.AddTool's wrapper around a typed
// handler does (go-sdk v1.8.0 toolForErr, same results and error texts),
// plus panic recovery around h.
func handle[In, Out any](ctx context.Context, c *compiled, req *mcp.CallToolRequest, name string, h Handler[In, Out], o Options) (*mcp.CallToolResult, error) {
	var args json.RawMessage
	if req.Params.Arguments != nil {
		args = req.Params.Arguments
	}
	var in In
	if err := decodeInput(args, c, &in); err != nil {
		var res mcp.CallToolResult
		res.SetError(err)
		return &res, nil
	}

	out, panicked, err := callSafely(ctx, req, in, name, h, o.Logger)
	if panicked {
		var res mcp.CallToolResult
		res.SetError(ErrPanicked)
		return &res, nil
	}
	if err != nil {
		// As go-sdk: a *jsonrpc.Error (not one wrapped) is a protocol error.
		if wireErr, ok := err.(*jsonrpc.Error); ok {
			return nil, wireErr
		}
		var res mcp.CallToolResult
		res.SetError(err)
		return &res, nil
	}

	res := &mcp.CallToolResult{}
	var outval any = out
	if c.outZero != nil {
		// Out is a pointer type: a nil output is the element type's zero
		// value, not JSON null.
		var z Out
		if any(out) == any(z) {
			outval = c.outZero
		}
	}
	if outval != nil {
		data, err := json.Marshal(outval)
		if err != nil {
			return nil, fmt.Errorf("marshaling output: %w", err)
		}
		if !o.TrustOutput {
			data, err = applySchema(data, c.out, true)
			if err != nil {
				return nil, fmt.Errorf("validating tool output: %w", err)
			}
		}
		res.StructuredContent = json.RawMessage(data)
		res.Content = []mcp.Content{&mcp.TextContent{Text: string(data)}}
	}
	return res, nil
}

// callSafely calls h, turning a panic into panicked == true. Only the panic
// value's type is logged: its value may hold arguments or data.
func callSafely[In, Out any](ctx context.Context, req *mcp.CallToolRequest, in In, name string, h Handler[In, Out], logger *slog.Logger) (out Out, panicked bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			var z Out
			out, panicked, err = z, true, nil
			if logger != nil {
				logger.ErrorContext(ctx, "tool handler panicked", "tool", name, "panic_type", fmt.Sprintf("%T", p))
			}
		}
	}()
	out, err = h(ctx, req, in)
	return out, false, err
}
