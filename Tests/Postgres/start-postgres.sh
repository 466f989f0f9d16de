#!/usr/bin/env bash
# Starts a throwaway PostgreSQL on loopback for the tests and prints its URL (export it as CONDUCTOR_TEST_POSTGRES_URL).
# Usage: start-postgres.sh DIR [PORT]; stop it with: pg_ctl -D DIR/data stop (as the postgres user when run as root).
set -euo pipefail
dir="$1"
port="${2:-55432}"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -x "$bin/initdb" ] || { echo "start-postgres: no PostgreSQL server installed (Debian: postgresql)" >&2; exit 1; }
mkdir -p "$dir"
as_owner=()
if [ "$(id -u)" = 0 ]; then
    chown postgres "$dir"
    as_owner=(runuser -u postgres --)
fi
if [ ! -f "$dir/data/PG_VERSION" ]; then
    "${as_owner[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --no-sync >"$dir/initdb.log"
    # In the server's own configuration, so a restart (pg-ctl.sh start) keeps them.
    printf "listen_addresses = '127.0.0.1'\nport = %s\nunix_socket_directories = '%s'\nmax_connections = 200\n" "$port" "$dir" \
        >>"$dir/data/postgresql.conf"
fi
if "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    echo "postgres://postgres@127.0.0.1:$port/postgres"
    exit 0
fi
"${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null
echo "postgres://postgres@127.0.0.1:$port/postgres"
