#!/usr/bin/env python3
"""Drives Conductor's dashboard (/conductor/) in headless Chromium over the DevTools protocol (stdlib only).

usage: dashboard-probe.py CHROMIUM BASE_URL PROMPT_FILE ARTIFACT_DIR

Loads BASE_URL/conductor/, waits for the node cards, submits PROMPT_FILE through POST /prompt and watches the
page follow the job (queued or running, then finished with a thumbnail), drains and undrains a node with its
button, checks the page fits a phone's width, and saves desktop and phone screenshots into ARTIFACT_DIR.
Prints one "ok - ..." or "FAIL - ..." line per check, then "N passed, N failed".
"""
import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

CHROMIUM, BASE, PROMPT_FILE, ARTIFACTS = sys.argv[1], sys.argv[2].rstrip("/"), sys.argv[3], sys.argv[4]


class DevTools:
    """A minimal WebSocket client for one DevTools page target (as in Tests/Frontend/frontend-probe.py)."""

    def __init__(self, ws_url):
        rest = ws_url[len("ws://"):]
        hostport, path = rest.split("/", 1)
        host, port = hostport.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise RuntimeError("DevTools handshake failed: " + head.decode(errors="replace"))
        self.next_id = 0
        self.results = {}

    def _read_exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("DevTools connection closed")
            data += chunk
        return data

    def _read_message(self):
        message = b""
        while True:
            b0, b1 = self._read_exact(2)
            op, length = b0 & 0x0F, b1 & 0x7F
            if length == 126:
                length = struct.unpack(">H", self._read_exact(2))[0]
            elif length == 127:
                length = struct.unpack(">Q", self._read_exact(8))[0]
            payload = self._read_exact(length)
            if op == 8:
                raise ConnectionError("DevTools closed the connection")
            if op in (9, 10):
                continue
            message += payload
            if b0 & 0x80:
                return message

    def call(self, method, timeout=30, **params):
        self.next_id += 1
        wanted = self.next_id
        payload = json.dumps({"id": wanted, "method": method, "params": params}).encode()
        header = bytes([0x81])
        if len(payload) < 126:
            header += bytes([0x80 | len(payload)])
        elif len(payload) < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", len(payload))
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", len(payload))
        mask = os.urandom(4)
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
        deadline = time.time() + timeout
        while wanted not in self.results:
            if time.time() > deadline:
                raise TimeoutError(method)
            message = json.loads(self._read_message())
            if "id" in message:
                self.results[message["id"]] = message
        return self.results.pop(wanted)

    def evaluate(self, expression):
        answer = self.call("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        result = answer.get("result", {})
        if "exceptionDetails" in result:
            return None
        return result.get("result", {}).get("value")

    def wait_for(self, expression, seconds, every=0.1):
        deadline = time.time() + seconds
        while time.time() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(every)
        return None

    def screenshot(self, path):
        shot = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        data = base64.b64decode(shot["result"]["data"])
        with open(path, "wb") as f:
            f.write(data)
        return data


passed = failed = 0


def check(condition, name, detail=""):
    global passed, failed
    if condition:
        passed += 1
        print(f"ok   - {name}")
    else:
        failed += 1
        print(f"FAIL - {name}" + (f": {detail}" if detail else ""))
    sys.stdout.flush()


def is_png(data):
    return data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


profile = tempfile.mkdtemp(prefix="dashboard-probe-")
port = free_port()
browser = subprocess.Popen([CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                            f"--remote-debugging-port={port}", f"--user-data-dir={profile}", "--window-size=1280,900",
                            "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    page = None
    for _ in range(100):
        try:
            targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json", timeout=2))
            page = next(t for t in targets if t["type"] == "page")
            break
        except Exception:
            time.sleep(0.1)
    if page is None:
        raise RuntimeError("Chromium's DevTools endpoint did not come up")
    tools = DevTools(page["webSocketDebuggerUrl"])
    tools.call("Page.enable")
    tools.call("Page.navigate", url=BASE + "/conductor/")

    names = tools.wait_for("(() => { const cards = [...document.querySelectorAll('#nodes [data-node]')];"
                           " return cards.length === 3 && cards.every(c => c.dataset.health === 'up')"
                           " ? JSON.stringify(cards.map(c => c.dataset.node)) : null })()", 15)
    check(names is not None, "three node cards, every node up", names or "")
    check(tools.wait_for("document.getElementById('live').classList.contains('on')", 5), "the live feed is connected")
    check(tools.evaluate("document.querySelector('[data-node] .meter.vram > div').style.width !== '0%'"),
          "a node card shows its VRAM in use")

    with open(PROMPT_FILE, "rb") as f:
        request = urllib.request.Request(BASE + "/prompt", data=f.read(), headers={"Content-Type": "application/json"})
    job = json.load(urllib.request.urlopen(request, timeout=10))["prompt_id"]
    selector = f'[data-job="{job}"]'
    # Follow the job on the page: the states it shows, and whether a node card showed it running.
    seen, ran_on_card, finished = [], False, None
    deadline = time.time() + 20
    while time.time() < deadline:
        state = tools.evaluate(f"(() => {{ const el = document.querySelector('#queue {selector}');"
                               " return el ? el.dataset.state : null })()")
        if state and (not seen or seen[-1] != state):
            seen.append(state)
        if tools.evaluate(f"[...document.querySelectorAll('[data-node] .current .id')].some(e => '{job}'.startsWith(e.textContent))"):
            ran_on_card = True
        finished = tools.evaluate(f"(() => {{ const el = document.querySelector('#recent {selector}');"
                                  " return el ? el.dataset.state : null })()")
        if finished:
            break
        time.sleep(0.1)
    check(bool(seen) or ran_on_card, "the submitted job appears on the page before it finishes",
          f"queue states seen {seen}, on a node card {ran_on_card}")
    check(ran_on_card, "a node card shows the job running")
    check(finished == "success", "the job shows as finished in recent jobs", f"state {finished!r}")
    thumb = tools.wait_for(f"(() => {{ const img = document.querySelector('#recent {selector} img.thumb');"
                           " return img && img.complete && img.naturalWidth > 0 ? img.getAttribute('src') : null })()", 10)
    check(thumb is not None and thumb.startswith("/view?"), "its output's thumbnail loaded from /view", thumb or "no image")
    done = tools.wait_for("[...document.querySelectorAll('[data-node] dd')].some(e => e.textContent.startsWith('1 done'))", 5)
    check(done, "the node that ran it counts one job done")
    check(not tools.evaluate(f"!!document.querySelector('#queue {selector}')"), "the queue no longer lists it")

    tools.evaluate("document.querySelector('[data-node=\"gpu-3060\"] button[data-action=\"drain\"]').click()")
    drained = tools.wait_for("!!document.querySelector('[data-node=\"gpu-3060\"] .pill.draining')", 5)
    nodes = json.load(urllib.request.urlopen(BASE + "/conductor/api/nodes", timeout=5))["nodes"]
    check(drained and any(n["name"] == "gpu-3060" and n["draining"] for n in nodes), "the Drain button drains the node")
    tools.evaluate("document.querySelector('[data-node=\"gpu-3060\"] button[data-action=\"undrain\"]').click()")
    check(tools.wait_for("!document.querySelector('[data-node=\"gpu-3060\"] .pill.draining')", 5), "the Undrain button puts it back")

    time.sleep(0.3)
    desktop = tools.screenshot(os.path.join(ARTIFACTS, "dashboard.png"))
    check(is_png(desktop), f"desktop screenshot ({len(desktop)} bytes PNG)")

    tools.call("Emulation.setDeviceMetricsOverride", width=390, height=844, deviceScaleFactor=2, mobile=True)
    time.sleep(0.3)
    widths = tools.evaluate("JSON.stringify([document.documentElement.scrollWidth, window.innerWidth])")
    scroll, inner = json.loads(widths or "[0, 1]")
    check(scroll <= inner, "at phone width (390 px) nothing scrolls sideways", f"content {scroll} px in {inner} px")
    columns = tools.evaluate("getComputedStyle(document.getElementById('nodes')).gridTemplateColumns.split(' ').length")
    check(columns == 1, "at phone width the node cards stack in one column", f"{columns} columns")
    phone = tools.screenshot(os.path.join(ARTIFACTS, "dashboard-phone.png"))
    check(is_png(phone), f"phone screenshot ({len(phone)} bytes PNG)")
except Exception as error:  # a broken page or browser is a failure, not a crash of the check
    check(False, "the DevTools session ran to the end", repr(error))
finally:
    browser.terminate()
    try:
        browser.wait(10)
    except subprocess.TimeoutExpired:
        browser.kill()
    shutil.rmtree(profile, ignore_errors=True)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
