package crmtools

// The text of a result.
//
// Package tools sets a result's text content to the JSON of the handler's
// output. These tools answer a model in prose and tables inside one
// <tool-data> boundary instead, so Register installs textMiddleware: for a
// tools/call of one of this package's tools, it hands the handler a slot
// in ctx, and afterwards replaces the result's content with what the
// handler put there (setText). Results the handler did not produce (the
// input-validation errors of package tools) get their text wrapped. When
// package tools can take a text from the handler, this file goes away.

import (
	"context"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/crm-mcp/crm-mcp/internal/outputguard"
)

// textSlot receives the wrapped text of one tool call, and any further
// content items (an export's CSV resource or download link). The handler
// writes it before returning and the middleware reads it after, on the
// same call chain, so it needs no lock.
type textSlot struct {
	text  string
	set   bool
	extra []mcp.Content
}

type textSlotKey struct{}

// setText stores the call's wrapped text, if the call has a slot.
func setText(ctx context.Context, text string) {
	if s, ok := ctx.Value(textSlotKey{}).(*textSlot); ok {
		s.text, s.set = text, true
	}
}

// addContent appends c after the call's text, if the call has a slot. The
// handler must not fail after adding: an error result keeps only the text.
func addContent(ctx context.Context, c mcp.Content) {
	if s, ok := ctx.Value(textSlotKey{}).(*textSlot); ok {
		s.extra = append(s.extra, c)
	}
}

// textMiddleware gives the tools in names their wrapped text.
func textMiddleware(names map[string]bool) mcp.Middleware {
	return func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			if method != "tools/call" {
				return next(ctx, method, req)
			}
			ctr, ok := req.(*mcp.CallToolRequest)
			if !ok || ctr.Params == nil || !names[ctr.Params.Name] {
				return next(ctx, method, req)
			}
			if _, ok := ctx.Value(textSlotKey{}).(*textSlot); ok {
				// Registered twice on one server: the outer layer does it.
				return next(ctx, method, req)
			}
			slot := new(textSlot)
			res, err := next(context.WithValue(ctx, textSlotKey{}, slot), method, req)
			r, ok := res.(*mcp.CallToolResult)
			if err != nil || !ok || r == nil {
				return res, err
			}
			if slot.set {
				r.Content = []mcp.Content{&mcp.TextContent{Text: slot.text}}
				if !r.IsError {
					r.Content = append(r.Content, slot.extra...)
				}
				return r, nil
			}
			// Not ours (an input-validation error): fence whatever text
			// there is, since it may quote the arguments.
			for i, c := range r.Content {
				if tc, ok := c.(*mcp.TextContent); ok {
					r.Content[i] = &mcp.TextContent{Text: outputguard.Wrap(tc.Text)}
				}
			}
			return r, nil
		}
	}
}
