#!/usr/bin/env bash
# The stock ComfyUI web frontend, loaded through Conductor in headless Chromium.
#
# usage: Tests/Frontend/check-frontend.sh PATH/TO/conductor
#
# Starts `conductor demo --web-root <comfyui-frontend-package's static folder>` on a free port, then checks
# through Conductor: the routes the frontend calls at start (with a browser's Origin and Sec-Fetch-* headers),
# that settings and userdata written read back, the page's DOM after load (--dump-dom), a screenshot, and with
# python3 a DevTools session that reloads the page and runs the default workflow to /api/history.
# Skips (exit 0) without chromium or the frontend package. Set COMFYUI_FRONTEND_STATIC to use another web root,
# KEEP_ARTIFACTS=1 to keep the screenshots, DOM and demo log (their directory is printed).
# The last line is "N passed, N failed"; the exit status is 1 when a check failed.
set -u

here=$(cd "$(dirname "$0")" && pwd)
passed=0
failed=0
demo=
work=
ok() { passed=$((passed + 1)); echo "ok   - $1"; }
fail() { failed=$((failed + 1)); echo "FAIL - $1"; }
check() { if [ "$1" = "$2" ]; then ok "$3"; else fail "$3 (expected $2, got $1)"; fi; }
stop_demo() {
    [ -n "$demo" ] || return 0
    kill -TERM "$demo" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$demo" 2>/dev/null || break; sleep 0.2; done
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
web_root=${COMFYUI_FRONTEND_STATIC:-}
if [ -z "$web_root" ] && [ -n "$python" ]; then
    web_root=$("$python" -c 'import comfyui_frontend_package, os; print(os.path.join(os.path.dirname(comfyui_frontend_package.__file__), "static"))' 2>/dev/null)
fi
[ -n "$web_root" ] && [ -f "$web_root/index.html" ] || skip "comfyui-frontend-package is not installed (pip install comfyui-frontend-package==1.35.9)"

work=$(mktemp -d "${TMPDIR:-/tmp}/check-frontend.XXXXXX")
port=$("${python:-python3}" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null || echo $((20000 + RANDOM % 20000)))
base="http://127.0.0.1:$port"
# Conductor answers / only once a node is up, so a 200 with the app root means the whole chain is ready.
ready_probe() { curl -fsS "$base/" 2>/dev/null | grep -q 'id="vue-app"'; }
. "$here/../Browser/demo.sh"
if ! start_demo --port "$port" --web-root "$web_root" --data-dir "$work/data" --time-scale 0.01; then
    fail "conductor demo serves the frontend's index.html on $base (log: $work/demo.log)"
    tail -20 "$work/demo.log"
    finish
fi
ok "conductor demo serves the frontend's index.html through Conductor"

# What a browser sends with the frontend's fetches; a node reached with them unchanged would answer 403.
browser=(-H "Origin: $base" -H "Referer: $base/" -H "Sec-Fetch-Site: same-origin" -H "Sec-Fetch-Mode: cors" -H "Sec-Fetch-Dest: empty")
status() { curl -s -o /dev/null -w '%{http_code}' "${browser[@]}" "$@"; }

for path in /api/system_stats /api/users /api/settings /api/i18n /api/extensions /api/global_subgraphs \
    /api/object_info /api/queue "/api/history?max_items=64" /api/workflow_templates /api/experiment/models \
    /api/experiment/models/checkpoints /templates/index.json "/api/userdata?dir=subgraphs&recurse=true&split=false&full_info=true" \
    /internal/logs /internal/logs/raw /materialdesignicons.min.css; do
    expected=200
    # No user has saved a subgraph yet: ComfyUI answers 404 for a missing directory (the frontend expects it).
    case "$path" in /api/userdata*) expected=404 ;; esac
    check "$(status "$base$path")" "$expected" "GET $path"
done
check "$(status -X PATCH -H 'Content-Type: application/json' -d '{"clientId": "x", "enabled": true}' "$base/internal/logs/subscribe")" 200 \
    "PATCH /internal/logs/subscribe"

# Settings and userdata are written through Conductor and read back. Comfy.TutorialCompleted is the setting the
# frontend writes after its first start; with it the page opens the default workflow instead of the templates browser.
check "$(status -X POST -H 'Content-Type: application/json' -d 'true' "$base/api/settings/Comfy.TutorialCompleted")" 200 \
    "POST /api/settings/{id}"
check "$(curl -s "${browser[@]}" "$base/api/settings/Comfy.TutorialCompleted")" true "GET /api/settings/{id} reads the value back"
check "$(status -X POST -d '{"check": 1}' "$base/api/userdata/workflows%2Fcheck-frontend.json?overwrite=true&full_info=true")" 200 \
    "POST /api/userdata/workflows%2F… saves a workflow"
check "$(curl -s "${browser[@]}" "$base/api/userdata/workflows%2Fcheck-frontend.json")" '{"check": 1}' "GET /api/userdata/{file} reads it back"
check "$(curl -s "${browser[@]}" "$base/api/userdata?dir=workflows")" '["check-frontend.json"]' "GET /api/userdata?dir=workflows lists it"
check "$(status -X POST "$base/api/userdata/workflows%2Fcheck-frontend.json/move/workflows%2Fmoved.json")" 200 "POST /api/userdata/{file}/move/{dest}"
check "$(status -X DELETE "$base/api/userdata/workflows%2Fmoved.json")" 204 "DELETE /api/userdata/{file}"

# The DOM after the frontend ran: the app root mounted the graph editor and no error is shown.
# Style sheets are dropped first: their rules name the error classes too.
timeout 90 "$chromium" --headless=new --no-sandbox --disable-gpu --no-first-run --user-data-dir="$work/profile-dom" \
    --window-size=1400,900 --virtual-time-budget=15000 --dump-dom "$base/" >"$work/dom.html" 2>"$work/chromium.log"
sed -e 's/<style[^>]*>[^<]*<\/style>//g' "$work/dom.html" >"$work/dom-elements.html"
grep -q 'id="vue-app"' "$work/dom-elements.html" && ok "DOM: the app root #vue-app is there" || fail "DOM: the app root #vue-app is there"
grep -q 'id="graph-canvas"' "$work/dom-elements.html" && ok "DOM: the graph canvas is mounted" || fail "DOM: the graph canvas is mounted"
grep -q 'workflow-tabs' "$work/dom-elements.html" && ok "DOM: the workflow tabs are shown" || fail "DOM: the workflow tabs are shown"
# A start that failed (a route the frontend needs answered with an error) leaves the loading spinner up.
grep -q 'p-progressspinner' "$work/dom-elements.html" && fail "DOM: the loading spinner is gone" || ok "DOM: the loading spinner is gone"
for marker in comfy-error-report p-toast-message-error 'Prompt execution failed' 'Failed to fetch'; do
    grep -q "$marker" "$work/dom-elements.html" && fail "DOM: no \"$marker\" shown" || ok "DOM: no \"$marker\" shown"
done

timeout 90 "$chromium" --headless=new --no-sandbox --disable-gpu --no-first-run --user-data-dir="$work/profile-shot" \
    --window-size=1400,900 --virtual-time-budget=15000 --screenshot="$work/screenshot.png" "$base/" >>"$work/chromium.log" 2>&1
size=$(stat -c %s "$work/screenshot.png" 2>/dev/null || echo 0)
[ "$size" -gt 20000 ] && ok "screenshot taken ($work/screenshot.png, $size bytes)" || fail "screenshot taken ($size bytes)"

if [ -n "$python" ]; then
    timeout 300 "$python" "$here/frontend-probe.py" "$chromium" "$base/" "$work/screenshot-run.png" >"$work/probe.log" 2>&1
    reported=0
    while IFS= read -r line; do
        case "$line" in
            "ok   - "*) ok "page: ${line#ok   - }"; reported=$((reported + 1)) ;;
            "FAIL - "*) fail "page: ${line#FAIL - }"; reported=$((reported + 1)) ;;
        esac
    done <"$work/probe.log"
    [ "$reported" -gt 0 ] || { fail "page: the DevTools session reported nothing"; tail -5 "$work/probe.log"; }
else
    echo "skipped: the page session (reload, Run to history) needs python3"
fi

grep -iE ' error |fatal' "$work/demo.log" | grep -v 'Server shutdown' | head -5
finish
