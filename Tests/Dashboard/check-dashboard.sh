#!/usr/bin/env bash
# Conductor's dashboard (/conductor/) in headless Chromium, against `conductor demo`.
#
# usage: Tests/Dashboard/check-dashboard.sh PATH/TO/conductor
#
# Starts `conductor demo` (three simulated nodes) on a free port, then with python3 drives a DevTools session:
# the three node cards, a prompt (Examples/sdxl-ksampler.json) followed from the queue to a finished job with
# its thumbnail, the Drain/Undrain buttons, the page at phone width, and desktop and phone screenshots.
# Skips (exit 0) without chromium or python3. KEEP_ARTIFACTS=1 keeps the screenshots and the demo log (their
# directory is printed; it is kept anyway when a check failed).
# The last line is "N passed, N failed"; the exit status is 1 when a check failed.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
passed=0
failed=0
demo=
work=
ok() { passed=$((passed + 1)); echo "ok   - $1"; }
fail() { failed=$((failed + 1)); echo "FAIL - $1"; }
stop_demo() {
    [ -n "$demo" ] || return 0
    kill -TERM "$demo" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$demo" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$demo" 2>/dev/null
    wait "$demo" 2>/dev/null
    demo=
}
trap stop_demo EXIT
finish() {
    stop_demo
    if [ -n "$work" ]; then
        if [ "${KEEP_ARTIFACTS:-0}" = 1 ] || [ "$failed" -ne 0 ]; then echo "artifacts: $work"; else rm -rf "$work"; fi
    fi
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit $?
}
skip() { echo "skipped: $1"; finish; }

conductor=${1:-}
if [ -z "$conductor" ] || [ ! -x "$conductor" ]; then
    echo "usage: $0 PATH/TO/conductor (a built conductor binary)" >&2
    fail "conductor binary given"
    finish
fi
chromium=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[ -n "$chromium" ] || skip "no chromium (apt-get install -y chromium)"
python=$(command -v python3 || true)
[ -n "$python" ] || skip "no python3"

work=$(mktemp -d "${TMPDIR:-/tmp}/check-dashboard.XXXXXX")
port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
# Simulated time at a tenth of real time: the example prompt runs about 3 s, long enough to watch it run.
ready_probe() {
    curl -fsS "$base/conductor/api/nodes" 2>/dev/null | "$python" -c \
        'import json, sys; nodes = json.load(sys.stdin)["nodes"]; sys.exit(0 if len(nodes) == 3 and all(n["health"] == "up" for n in nodes) else 1)' 2>/dev/null
}
. "$here/../Browser/demo.sh"
if ! start_demo --port "$port" --data-dir "$work/data" --time-scale 0.1 --log-format json; then
    fail "conductor demo has three nodes up on $base (log: $work/demo.log)"
    tail -20 "$work/demo.log"
    finish
fi
ok "conductor demo has three nodes up"

timeout 60 "$python" "$here/dashboard-probe.py" "$chromium" "$base" "$root/Examples/sdxl-ksampler.json" "$work" >"$work/probe.log" 2>&1
reported=0
while IFS= read -r line; do
    case "$line" in
        "ok   - "*) ok "page: ${line#ok   - }"; reported=$((reported + 1)) ;;
        "FAIL - "*) fail "page: ${line#FAIL - }"; reported=$((reported + 1)) ;;
    esac
done <"$work/probe.log"
[ "$reported" -gt 0 ] || { fail "page: the DevTools session reported nothing"; tail -5 "$work/probe.log"; }

# The demo logs one JSON object per line (--log-format json); a line that is not is a failure of the format.
if "$python" -c 'import json, sys
lines = [l for l in open(sys.argv[1]) if l.startswith("{")]
for l in lines: json.loads(l)
sys.exit(0 if lines else 1)' "$work/demo.log" 2>/dev/null; then
    ok "the demo's log lines are JSON objects"
else
    fail "the demo's log lines are JSON objects"
fi
finish
