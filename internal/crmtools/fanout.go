package crmtools

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/crm-mcp/crm-mcp/internal/crm"
)

// fanout runs fns concurrently and returns their errors, in order. The
// first failure cancels the others' context. A panic in one becomes a
// *panicError for it: fns run on their own goroutines, where neither the
// handler's recover nor package tools' would catch it, and an unrecovered
// panic would end the process.
func fanout(ctx context.Context, fns ...func(ctx context.Context) error) []error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Go(func() {
			defer func() {
				if v := recover(); v != nil {
					errs[i] = &panicError{class: fmt.Sprintf("%T", v)}
					cancel()
				}
			}()
			if err := fn(ctx); err != nil {
				errs[i] = err
				cancel()
			}
		})
	}
	wg.Wait()
	return errs
}

// firstErr picks the answer for a fan-out about one record. A not-found
// from any call wins, so that the answer for an unknown (or another
// tenant's) id does not depend on which call failed first and cancelled
// the others; then a panic; then the first failure in order.
func (c *call) firstErr(errs []error, what, id string) error {
	for _, err := range errs {
		if errors.Is(err, crm.ErrNotFound) {
			return notFound(what, id)
		}
	}
	for _, err := range errs {
		if isPanic(err) {
			return err
		}
	}
	for _, err := range errs {
		if err != nil {
			return c.crmErr(err, what, id)
		}
	}
	return nil
}
