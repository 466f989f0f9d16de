#!/usr/bin/env bash
# Stops a server started by start-postgres.sh DIR and removes DIR.
set -uo pipefail
dir="$1"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
as_owner=()
[ "$(id -u)" = 0 ] && as_owner=(runuser -u postgres --)
[ -f "$dir/data/PG_VERSION" ] && "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1
rm -rf "$dir"
