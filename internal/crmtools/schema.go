package crmtools

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/crm-mcp/crm-mcp/internal/crm"
)

// enumSchemas gives the CRM's closed vocabularies their enums in input
// schemas, so a model sees the allowed values and bad ones are refused
// before a handler runs.
var enumSchemas = map[reflect.Type]*jsonschema.Schema{
	reflect.TypeFor[crm.Stage]():        enum(crm.Stages...),
	reflect.TypeFor[crm.PersonKind]():   enum(crm.KindCandidate, crm.KindContact),
	reflect.TypeFor[crm.JobStatus]():    enum(crm.JobOpen, crm.JobOnHold, crm.JobFilled, crm.JobClosed),
	reflect.TypeFor[crm.ActivityKind](): enum(crm.ActivityCall, crm.ActivityEmail, crm.ActivityMeeting),
}

func enum[T ~string](vs ...T) *jsonschema.Schema {
	s := &jsonschema.Schema{Type: "string"}
	for _, v := range vs {
		s.Enum = append(s.Enum, string(v))
	}
	return s
}

// Input bounds by property name. Strings the CRM stores are bounded by its
// own rules (crm.Validate); these bound what reaches a handler at all.
const (
	maxIDLen    = 100
	maxQueryLen = 500
)

// inputSchema infers In's schema as package tools would, plus enums for
// CRM vocabularies and bounds (ids, page sizes, free text).
func inputSchema[In any]() *jsonschema.Schema {
	s, err := jsonschema.For[In](&jsonschema.ForOptions{TypeSchemas: enumSchemas})
	if err != nil {
		panic(fmt.Sprintf("crmtools: input schema of %T: %v", *new(In), err))
	}
	bound(s)
	return s
}

func bound(s *jsonschema.Schema) {
	if s == nil {
		return
	}
	for name, p := range s.Properties {
		isString := p.Type == "string" || (p.Type == "" && containsType(p.Types, "string"))
		isInt := p.Type == "integer" || containsType(p.Types, "integer")
		switch {
		case isString && p.Enum == nil && (name == "id" || strings.HasSuffix(name, "Id")):
			p.MaxLength = ptr(maxIDLen)
		case isString && name == "query":
			p.MaxLength = ptr(maxQueryLen)
		case isString && (name == "body" || name == "summary" || name == "description"):
			p.MaxLength = ptr(crm.MaxTextLen)
		case isString && p.Enum == nil:
			p.MaxLength = ptr(crm.MaxNameLen * 2)
		case isInt && name == "page":
			p.Minimum, p.Maximum = ptr(1.0), ptr(float64(crm.MaxLimit))
		case isInt && name == "pageSize":
			p.Minimum, p.Maximum = ptr(1.0), ptr(float64(maxPageSize))
		case isInt && name == "limit":
			p.Minimum, p.Maximum = ptr(1.0), ptr(float64(maxListLimit))
		case isInt:
			p.Minimum = ptr(0.0)
		}
		if p.Items != nil && p.Items.Type == "string" && p.Items.Enum == nil {
			p.Items.MaxLength = ptr(crm.MaxItemLen)
			p.MaxItems = ptr(crm.MaxListLen)
		}
		bound(p)
		bound(p.Items)
	}
}

func containsType(ts []string, t string) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}
