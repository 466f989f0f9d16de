#!/usr/bin/env python3
"""Transfer cost of a 10 MB input through Conductor (BENCHMARKS.md, "Files follow the job").

Starts `conductor demo`, uploads five different 10 MB PNGs (random pixels, stored uncompressed; needs Pillow) and
runs LoadImage -> SaveImage on each twice, pinned to one node by a checkpoint only it has. The first run of a file
pays its delivery to the node; the second finds the copy there. The difference of the medians is the transfer
cost per job; the bytes are the file's size on the first job and 0 after.

    python3 Scripts/measure-transfer.py "$(swift build -c release --show-bin-path)/conductor"
"""
import json, os, statistics, subprocess, sys, tempfile, time, urllib.request, uuid

from PIL import Image

BIN = sys.argv[1]
PORT = 18199
BASE = f"http://127.0.0.1:{PORT}"
PIN = "juggernautXL_v9Rundiffusionphoto2.safetensors"  # only the demo's gpu-4090 holds it


def post(path, data, ctype):
    req = urllib.request.Request(BASE + path, data=data, headers={"Content-Type": ctype}, method="POST")
    return json.loads(urllib.request.urlopen(req).read())


def upload(name, content):
    b = "b" + uuid.uuid4().hex
    body = (f"--{b}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"{name}\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode() + content + f"\r\n--{b}--\r\n".encode()
    t = time.perf_counter()
    answer = post("/upload/image", body, f"multipart/form-data; boundary={b}")
    return answer, time.perf_counter() - t


def run(image, prefix):
    prompt = {"1": {"class_type": "LoadImage", "inputs": {"image": image}},
              "2": {"class_type": "SaveImage", "inputs": {"filename_prefix": prefix, "images": ["1", 0]}},
              "3": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": PIN}}}
    t = time.perf_counter()
    pid = post("/prompt", json.dumps({"prompt": prompt}).encode(), "application/json")["prompt_id"]
    while True:
        h = json.loads(urllib.request.urlopen(f"{BASE}/history/{pid}").read())
        if pid in h:
            break
        time.sleep(0.005)
    return time.perf_counter() - t, h[pid]["status"]["status_str"]


with tempfile.TemporaryDirectory() as scratch:
    demo = subprocess.Popen([BIN, "demo", "--port", str(PORT), "--data-dir", scratch],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                if urllib.request.urlopen(BASE + "/readyz").status == 200:
                    break
            except Exception:
                time.sleep(0.1)
        first, again, uploads = [], [], []
        for i in range(5):
            path = os.path.join(scratch, f"big{i}.png")
            Image.frombytes("RGB", (1830, 1830), os.urandom(1830 * 1830 * 3)).save(path, compress_level=0)
            content = open(path, "rb").read()
            answer, took = upload(f"big{i}.png", content)
            t1, s1 = run(answer["name"], f"first{i}")
            t2, s2 = run(answer["name"], f"again{i}")
            print(f"round {i}: {len(content)} bytes, upload {took * 1000:.0f} ms, first job {t1 * 1000:.0f} ms ({s1}), "
                  f"same file again {t2 * 1000:.0f} ms ({s2})")
            first.append(t1), again.append(t2), uploads.append(took)
        print(f"median upload {statistics.median(uploads) * 1000:.0f} ms; median first job {statistics.median(first) * 1000:.0f} ms, "
              f"again {statistics.median(again) * 1000:.0f} ms; transfer per job "
              f"{(statistics.median(first) - statistics.median(again)) * 1000:.0f} ms")
    finally:
        demo.kill()
