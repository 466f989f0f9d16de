#!/usr/bin/env bash
# Steady load on `conductor demo` for a minute (an SD1.5 and an SDXL prompt every second), then how many jobs each
# node ran: every node should have run work. Usage: Scripts/demo-steady-load.sh BIN [SECONDS]
set -u
BIN=$(realpath "$1")
SECONDS_OF_LOAD=${2:-60}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$(mktemp -d)"
$BIN demo > demo.log 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null' EXIT
for _ in $(seq 1 120); do curl -fs http://127.0.0.1:8188/readyz >/dev/null && break; sleep 0.5; done
python3 - "$ROOT/Examples/sdxl-ksampler.json" "$SECONDS_OF_LOAD" <<'PY'
import json, sys, time, urllib.request
sdxl = json.load(open(sys.argv[1]))
sd15 = json.loads(json.dumps(sdxl))
for node in sd15["prompt"].values():
    if node.get("class_type") == "CheckpointLoaderSimple":
        node["inputs"]["ckpt_name"] = "v1-5-pruned-emaonly.safetensors"
def post(body):
    request = urllib.request.Request("http://127.0.0.1:8188/prompt", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(request))
end = time.time() + float(sys.argv[2])
seed = 0
while time.time() < end:
    for body in (sd15, sdxl):
        seed += 1
        for node in body["prompt"].values():
            if node.get("class_type") == "KSampler":
                node["inputs"]["seed"] = seed
        post(body)
    time.sleep(1)
nodes = json.load(urllib.request.urlopen("http://127.0.0.1:8188/conductor/api/nodes"))["nodes"]
for node in nodes:
    speed = node["speed"]
    print(f'{node["name"]}: {node["jobs"]["done"]} jobs done, speed {speed["units_per_second"]:.3f} ({"measured" if speed["measured"] else "assumed"}, declared {speed["declared"]})')
print("submitted", seed, "prompts; queue remaining", json.load(urllib.request.urlopen("http://127.0.0.1:8188/prompt"))["exec_info"]["queue_remaining"])
PY
