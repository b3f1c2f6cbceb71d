package outputguard_test

import (
	"testing"

	"github.com/crm-mcp/crm-mcp/internal/outputguard"
)

func addSeeds(f *testing.F) {
	for _, tt := range neutraliseCases {
		f.Add(tt.in)
	}
	for _, tt := range preserveCases {
		f.Add(tt.in)
	}
	for _, s := range fragments {
		f.Add(s)
	}
}

func FuzzSanitize(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, in string) {
		checkSanitize(t, in)
	})
}

func FuzzWrap(f *testing.F) {
	addSeeds(f)
	w := outputguard.NewWrapper(nil)
	f.Fuzz(func(t *testing.T, in string) {
		checkWrap(t, w, in)
	})
}
