#!/bin/bash
# conductor-healthcheck [PATH] [PORT]: exit 0 when http://127.0.0.1:PORT/PATH answers 200, else 1.
#
# The container image's HEALTHCHECK. Plain bash (/dev/tcp), so the image needs no curl or wget.
# PATH defaults to /healthz (200 while the process is alive; /readyz also needs the store open and a
# node up); PORT to $CONDUCTOR_PORT, else 8188 (cluster.json's listen.port).
path=${1:-/healthz}
port=${2:-${CONDUCTOR_PORT:-8188}}

{ exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || exit 1
printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$path" "$port" >&3 || exit 1
IFS= read -r -t 5 status <&3 || exit 1
case $status in
    "HTTP/1."?" 200"*) exit 0 ;;
    *) exit 1 ;;
esac
