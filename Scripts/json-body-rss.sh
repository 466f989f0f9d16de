#!/usr/bin/env bash
# RSS of `conductor demo` around JSON bodies: one of 101 MiB (over the limit) and one of 7 MiB (under it).
set -u
BIN=$(realpath "$1")
cd "$(mktemp -d)"
$BIN demo > demo.log 2>&1 &
PID=$!
for _ in $(seq 1 120); do curl -fs http://127.0.0.1:8188/readyz >/dev/null && break; sleep 0.5; done
rss() { awk '/VmRSS|VmHWM/ {printf "%s %d MB  ", $1, $2/1024}' /proc/$PID/status; echo; }
python3 -c "import sys; sys.stdout.write('{\"prompt\": {}, \"pad\": \"' + 'a'*(101*1024*1024) + '\"}')" > big.json
python3 -c "import sys; sys.stdout.write('{\"prompt\": {}, \"pad\": \"' + 'a'*(7*1024*1024) + '\"}')" > mid.json
echo "ready:            $(rss)"
for i in 1 2 3; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data-binary @big.json http://127.0.0.1:8188/prompt)
  echo "101 MiB body #$i -> $code  $(rss)"
done
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' --data-binary @big.json http://127.0.0.1:8188/prompt)
echo "101 MiB chunked -> $code  $(rss)"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data-binary @mid.json http://127.0.0.1:8188/prompt)
echo "7 MiB body -> $code  $(rss)"
kill $PID; wait $PID 2>/dev/null
