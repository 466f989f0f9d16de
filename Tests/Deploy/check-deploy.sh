#!/usr/bin/env bash
# Checks the deploy recipes in deploy/ offline: no network, Docker daemon or Kubernetes cluster needed.
#
# usage: Tests/Deploy/check-deploy.sh [PATH/TO/conductor]
#
#  - systemd: `systemd-analyze verify` on a copy of the unit whose ExecStart points at a dummy executable
#    (any warning about the unit fails), `systemd-analyze security --offline` (exposure must stay <= 2.0);
#  - every YAML file parses (PyYAML) and each recipe says what Conductor needs and agrees with the others
#    (deploy_checks.py: compose services and health check, PostgreSQL, the two coordinators and nginx.conf,
#    Kubernetes objects, probes on the container port, mounts, advertise URL, cluster.json keys, Containerfile
#    stages, user and ignore rules);
#  - `kubectl kustomize` renders the Kubernetes recipe; `kubectl apply --dry-run=client`, `docker compose
#    config`, `nginx -t` on the compose recipe's nginx.conf, `docker buildx build --check`, hadolint and
#    shellcheck run when they can run here, else skip;
#  - the image's health check script against a local HTTP server (200, 503, nothing listening);
#  - given a built conductor: each cluster.json example starts `conductor serve` (data directory moved to a
#    temporary one, port 0), /healthz and /readyz answer (when the binary has them), and SIGTERM exits 0.
#    An example with a PostgreSQL store is started with SQLite instead (no database is assumed here), saying so.
#
# Prints one line per check ("ok", "FAIL" or "skip"); exits 1 when a check failed.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
here="$root/Tests/Deploy"
cd "$root"
conductor=${1:-}
passed=0
failed=0
skipped=0
ok() { passed=$((passed + 1)); echo "ok   - $1"; }
fail() { failed=$((failed + 1)); echo "FAIL - $1"; }
skip() { skipped=$((skipped + 1)); echo "skip - $1"; }
have() { command -v "$1" >/dev/null 2>&1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/check-deploy.XXXXXX")
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# ---- systemd --------------------------------------------------------------------------------------
unit=deploy/systemd/conductor.service
if have systemd-analyze; then
    # ExecStart must name an existing executable for verify to pass: a dummy one stands in for conductor.
    printf '#!/bin/sh\nexit 0\n' >"$work/conductor"
    chmod +x "$work/conductor"
    sed "s#/usr/local/bin/conductor#$work/conductor#g" "$unit" >"$work/conductor.service"
    if ! grep -q "^ExecStart=$work/conductor serve" "$work/conductor.service"; then
        fail "$unit: ExecStart=/usr/local/bin/conductor … not found to substitute"
    else
        status=0
        output=$(systemd-analyze verify --man=no "$work/conductor.service" 2>&1) || status=$?
        own=$(grep -F "conductor.service" <<<"$output" || true)
        other=$(grep -vF "conductor.service" <<<"$output" || true)
        [ -z "$other" ] || echo "note - systemd-analyze verify, about other units: $other"
        if [ "$status" -eq 0 ] && [ -z "$own" ]; then
            ok "$unit: systemd-analyze verify, no warnings"
        else
            fail "$unit: systemd-analyze verify (exit $status): ${own:-$output}"
        fi
        status=0
        output=$(systemd-analyze security --offline=yes --threshold=20 "$work/conductor.service" 2>&1) || status=$?
        if grep -q "Overall exposure level" <<<"$output"; then
            level=$(grep "Overall exposure level" <<<"$output" | sed 's/.*: //')
            if [ "$status" -eq 0 ]; then ok "$unit: systemd-analyze security: $level (at most 2.0)"
            else fail "$unit: systemd-analyze security: $level (more than 2.0)"; fi
        else
            skip "$unit: systemd-analyze security --offline is not supported by this systemd (needs 250+)"
        fi
    fi
else
    skip "$unit: no systemd-analyze (apt-get install systemd)"
fi

# ---- YAML, JSON and cross-recipe structure ----------------------------------------------------------
if ! python3 -c 'import yaml' 2>/dev/null; then
    echo "note - installing PyYAML"
    python3 -m pip install -q pyyaml
fi
status=0
python3 "$here/deploy_checks.py" "$root" "$work" >"$work/structure.log" 2>&1 || status=$?
cat "$work/structure.log"
passed=$((passed + $(grep -c '^ok ' "$work/structure.log" || true)))
failed=$((failed + $(grep -c '^FAIL ' "$work/structure.log" || true)))
if [ "$status" -ne 0 ] && ! grep -q '^FAIL ' "$work/structure.log"; then fail "deploy_checks.py exited $status"; fi

# ---- kubectl --------------------------------------------------------------------------------------
if have kubectl; then
    if output=$(kubectl kustomize deploy/kubernetes 2>&1); then
        if kinds=$(python3 -c '
import sys, yaml
docs = [d for d in yaml.safe_load_all(sys.stdin) if d]
kinds = sorted(d["kind"] for d in docs)
assert kinds == ["Deployment", "PersistentVolumeClaim", "PodDisruptionBudget", "Secret", "Service"], kinds
print(", ".join(kinds))' <<<"$output" 2>&1); then
            ok "kubectl kustomize deploy/kubernetes renders $kinds"
        else
            fail "kubectl kustomize deploy/kubernetes renders the wrong objects: $kinds"
        fi
    else
        fail "kubectl kustomize deploy/kubernetes: $output"
    fi
    # Client-side dry run still asks a server for its API groups: run it against an empty kubeconfig and
    # skip when that is what stops it.
    : >"$work/kubeconfig"
    status=0
    output=$(KUBECONFIG="$work/kubeconfig" timeout 10 kubectl apply --dry-run=client --validate=false \
        --request-timeout=3s -f deploy/kubernetes/conductor.yaml 2>&1) || status=$?
    if [ "$status" -eq 0 ]; then
        ok "kubectl apply --dry-run=client -f deploy/kubernetes/conductor.yaml"
    elif grep -qiE 'connection refused|unable to recognize|no such host|couldn.t get current server|timeout' <<<"$output"; then
        skip "kubectl apply --dry-run=client: needs an API server even in client mode (none here)"
    else
        fail "kubectl apply --dry-run=client: $output"
    fi
else
    skip "no kubectl: kustomize rendering and dry run not checked"
fi

# ---- docker: compose schema and Containerfile lint ---------------------------------------------------
if have docker && docker compose version >/dev/null 2>&1; then
    # `config` validates against the compose schema without a daemon.
    if output=$(docker compose -f deploy/compose/compose.yaml config --quiet 2>&1); then
        ok "docker compose config: deploy/compose/compose.yaml is valid"
    else
        fail "docker compose config: $output"
    fi
else
    skip "docker compose config: no docker compose plugin"
fi
if have docker && timeout 10 docker info >/dev/null 2>&1 && docker buildx version >/dev/null 2>&1; then
    status=0
    output=$(timeout 60 docker buildx build --check -f deploy/container/Containerfile . 2>&1) || status=$?
    if [ "$status" -eq 0 ]; then
        ok "docker buildx build --check: deploy/container/Containerfile has no lint warnings"
    elif grep -qE 'warnings? (has|have) been found' <<<"$output"; then
        fail "docker buildx build --check: $output"
    else
        skip "docker buildx build --check could not run offline: $(tail -n 1 <<<"$output")"
    fi
else
    skip "docker buildx build --check: no Docker daemon or buildx here (the image itself is not built: no network)"
fi
if have hadolint; then
    if output=$(hadolint --no-color --ignore DL3008 deploy/container/Containerfile 2>&1); then
        ok "hadolint deploy/container/Containerfile (DL3008, unpinned apt versions, ignored)"
    else
        fail "hadolint: $output"
    fi
else
    skip "hadolint: not installed"
fi

# ---- nginx: the compose recipe's load balancer ------------------------------------------------------
nginx_conf=deploy/compose/nginx.conf
if have nginx; then
    mkdir -p "$work/nginx"
    version=$(nginx -v 2>&1 | sed -n 's#.*nginx/\([0-9.]*\).*#\1#p')
    # Compose's service names do not resolve here: the coordinators become 127.0.0.1. The upstream servers'
    # `resolve` needs nginx 1.27.3+ (the recipe's image is nginx:1.27): dropped for an older nginx.
    sed -e 's/conductor-[ab]:/127.0.0.1:/' "$nginx_conf" >"$work/nginx/default.conf"
    dropped=
    if ! printf '%s\n' 1.27.3 "$version" | sort -V -C; then
        sed -i -e 's/ resolve / /' -e 's/ resolve;/;/' "$work/nginx/default.conf"
        dropped=", 'resolve' dropped: nginx $version predates 1.27.3"
    fi
    # The official image's nginx.conf includes conf.d/*.conf inside `http {}`: the same here.
    cat >"$work/nginx/nginx.conf" <<EOF
pid $work/nginx/nginx.pid;
error_log stderr;
events {}
http {
    access_log off;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
    include $work/nginx/default.conf;
}
EOF
    if output=$(nginx -t -q -e stderr -p "$work/nginx" -c "$work/nginx/nginx.conf" 2>&1); then
        ok "nginx -t: $nginx_conf is valid (coordinators as 127.0.0.1$dropped)"
    else
        fail "nginx -t $nginx_conf: $output"
    fi
else
    skip "nginx -t: no nginx here ($nginx_conf is checked structurally only)"
fi

# ---- the health check script ----------------------------------------------------------------------
healthcheck=deploy/container/healthcheck.sh
if have shellcheck; then
    if output=$(shellcheck "$healthcheck" "$0" 2>&1); then ok "shellcheck $healthcheck $0"; else fail "shellcheck: $output"; fi
else
    skip "shellcheck: not installed"
fi
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
python3 - "$port" >/dev/null 2>&1 <<'PY' &
import http.server, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/healthz" else 503)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
PY
pids+=($!)
for _ in $(seq 50); do "$healthcheck" /healthz "$port" && break; sleep 0.1; done
results="$("$healthcheck" /healthz "$port" && echo 0 || echo 1) $("$healthcheck" /readyz "$port" && echo 0 || echo 1)"
kill "${pids[-1]}" 2>/dev/null || true
wait "${pids[-1]}" 2>/dev/null || true
results="$results $("$healthcheck" /healthz "$port" && echo 0 || echo 1)"
if [ "$results" = "0 1 1" ]; then
    ok "$healthcheck: 200 passes, 503 fails, nothing listening fails"
else
    fail "$healthcheck: exit statuses for 200, 503, no listener were $results (expected 0 1 1)"
fi

# ---- a real conductor on each cluster.json example ---------------------------------------------------
http_get() { # PORT PATH -> "STATUS BODY" (the body's first line), or "000"
    local line='' body=''
    { exec 4<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || { echo 000; return; }
    printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$2" >&4
    IFS= read -r -t 5 line <&4 || true
    local status=${line#HTTP/1.? }
    while IFS= read -r -t 5 line <&4 && [ "$line" != $'\r' ]; do :; done
    IFS= read -r -t 5 body <&4 || true
    exec 4<&-
    echo "${status:0:3} ${body%$'\r'}"
}
if [ -z "$conductor" ]; then
    skip "cluster.json examples not started: no conductor binary given (usage: $0 PATH/TO/conductor)"
elif [ ! -x "$conductor" ]; then
    fail "conductor binary $conductor is not executable"
else
    for config in "$work"/configs/*.json; do
        name=$(basename "$config" .json)
        data="$work/data-$name"
        # The example as is, but listening on loopback and keeping its data in a temporary directory. A
        # PostgreSQL store needs a database, and none is assumed here: such an example runs with SQLite instead,
        # which still checks the rest of it against the binary.
        store=$(python3 - "$config" "$data" "$work/run-$name.json" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
config.setdefault("listen", {})["host"] = "127.0.0.1"
config["dataDirectory"] = sys.argv[2]
store = config.pop("store", None) or {}
with open(sys.argv[3], "w") as f:
    json.dump(config, f)
print("postgres" if "postgres" in store else "sqlite")
PY
)
        label="$name cluster.json"
        if [ "$store" = postgres ]; then
            skip "$label: not started with its PostgreSQL store (store.postgres needs a database server, none is assumed here)"
            label="$name cluster.json, store.postgres replaced by SQLite"
        fi
        log="$work/run-$name.log"
        "$conductor" serve --config "$work/run-$name.json" --port 0 >"$log" 2>&1 &
        pid=$!
        pids+=("$pid")
        port=
        for _ in $(seq 100); do
            port=$(sed -n 's#^Conductor listening on http://127\.0\.0\.1:\([0-9]*\) .*#\1#p' "$log" | head -n 1)
            [ -n "$port" ] || ! kill -0 "$pid" 2>/dev/null || { sleep 0.1; continue; }
            break
        done
        if [ -z "$port" ]; then
            fail "$label: conductor serve did not start: $(tail -n 3 "$log")"
            kill -KILL "$pid" 2>/dev/null || true
            continue
        fi
        ok "$label: conductor serve accepts it and listens"
        # Until /healthz and /readyz exist, Conductor forwards them to a node like any unknown GET.
        unknown=$(http_get "$port" /check-deploy-no-such-route)
        healthz=$(http_get "$port" /healthz)
        readyz=$(http_get "$port" /readyz)
        if [ "${healthz:0:3}" = 200 ] && "$healthcheck" /healthz "$port"; then
            ok "$label: /healthz answers 200 (and the image's health check passes)"
        elif [ "$healthz" = "$unknown" ]; then
            skip "$label: this conductor has no /healthz yet (answers like an unknown path: $healthz)"
        else
            fail "$label: /healthz answered $healthz"
        fi
        # No example node is reachable from here, so the fleet has no node up.
        if [ "$readyz" = "$unknown" ]; then
            skip "$label: /readyz answers like an unknown path ($readyz): route not there yet?"
        elif [ "${readyz:0:3}" = 503 ]; then
            ok "$label: /readyz answers 503 with no node up"
        else
            fail "$label: /readyz answered $readyz with no node up (expected 503)"
        fi
        kill -TERM "$pid"
        status=
        for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            fail "$label: conductor still running 15 s after SIGTERM"
            kill -KILL "$pid" 2>/dev/null || true
        else
            wait "$pid" && status=0 || status=$?
            if [ "$status" -eq 0 ] && [ -f "$data/conductor.sqlite" ]; then
                ok "$label: SIGTERM stops conductor with status 0, conductor.sqlite in the data directory"
            else
                fail "$label: after SIGTERM: exit status $status, data directory holds: $(cd "$data" 2>/dev/null && echo ./*)"
            fi
        fi
    done
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
