// Package crmtools is the recruitment CRM's MCP tool surface: about two
// dozen broad tools (search, get, create and update people, companies and
// jobs; pipelines; notes, activities and the timeline; tasks; the pipeline
// report; whoAmI and listTeam), registered with [Register] on a go-sdk
// server through [tools.New].
//
// # Contract every tool keeps
//
//   - Identity comes only from the request's [tenant.Principal]; no input
//     schema has a tenant-like field. The CRM is reached only through [CRM]
//     (in production the CRM API client, which mints a service token from
//     the principal in ctx).
//   - Another tenant's id gets exactly the answer a nonexistent id gets
//     ("No person with id X in your CRM."): the text depends only on the
//     kind of record and the id the model sent.
//   - Output is untrusted data: every string in structuredContent passes
//     through [outputguard.Sanitize], and every text content item (results
//     and errors) is one [outputguard.Wrap] boundary. The text is written
//     for a model (a summary line, a compact markdown table, the exact call
//     for the next page); structuredContent carries the same facts in
//     fields.
//   - Failures: expected ones (not found, rejected input, expired
//     retrievalId) get a fixed, model-actionable message in our own
//     wording; anything else gets "The CRM is not reachable right now
//     (request id R). Try again shortly." and one log record with the
//     tool's name, the error's Go type and a code from a closed vocabulary
//     — never the error's message, arguments or record contents. A panic
//     (also in a fan-out goroutine) is recovered the same way.
//
// # Pagination
//
// searchPeople, searchCompanies and searchJobs store the ordered ids of a
// search (at most 1000) as a [state.Snapshot] for 30 minutes, bound to the
// caller's tenant and user, under an unguessable retrievalId. Later pages
// come from that snapshot, so they are stable while the data changes; a
// retrievalId of another user or tenant behaves exactly like an expired
// one.
//
// # Text content
//
// [tools.New] writes the JSON of a handler's output as the result's text.
// Until package tools can take a text from the handler, [Register] also
// installs a receiving middleware (text.go) that replaces, for this
// package's tools only, the text content with the handler's wrapped text,
// and wraps any other text (input-validation errors) in a boundary. Use
// Register, not the [tools.Registered] values of [All] alone.
package crmtools
