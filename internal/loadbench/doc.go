// Package loadbench is the load harness behind "crm-mcp bench": it seeds
// (or reuses) a CRM store with the demo tenants, starts the product's serve
// role and two comparison servers as child processes, drives a mixed,
// multi-user workload against each from the same client, and reports
// throughput, latency percentiles, errors and CPU per request with the
// ratios against the floor.
//
// Targets, all measured in one invocation:
//
//   - stack: the serve role (app.New + app.Serve, as "crm-mcp serve" builds
//     it: OAuth bearer, MCP, tools, the in-process CRM API hop, SQLite);
//   - floor-sql: a bare net/http + encoding/json handler making the same
//     crm.Store calls the tools' API calls make, without auth, MCP or the
//     API hop (the "same SQL without MCP" of docs/performance.md);
//   - floor-bytes: a bare handler writing a representative response's
//     bytes (one captured stack response per operation) with the id
//     spliced in: the cost of HTTP and JSON alone.
//
// The harness lives in its own package so that the serve path does not
// grow with it; cmd/crm-mcp only dispatches to [Main]. Children are the
// running executable re-executed with CRM_LOADBENCH_CHILD set, so a test
// binary that calls [MaybeChild] from TestMain works as well as crm-mcp.
// Pinned runs (the default when taskset exists and there are two or more
// CPUs) put every server on core 0 and the load generator on core 1, as
// the shared performance anchors prescribe.
package loadbench
