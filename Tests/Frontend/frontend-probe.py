#!/usr/bin/env python3
"""Drives the ComfyUI frontend in headless Chromium over the DevTools protocol (stdlib only).

usage: frontend-probe.py CHROMIUM URL SCREENSHOT

Loads URL, waits for the graph editor, reloads once (the frontend then reconnects its WebSocket with the
client id it adopted), queues the default workflow with the frontend's own app.queuePrompt, and waits for
the job in /api/history. Prints one "ok - ..." or "FAIL - ..." line per check and a JSON summary line.
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
import urllib.parse
import urllib.request

CHROMIUM, URL, SCREENSHOT = sys.argv[1], sys.argv[2], sys.argv[3]


class DevTools:
    """A minimal WebSocket client for one DevTools page target."""

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
        self.events = []
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
        message, opcode = b"", None
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
            if op != 0:
                opcode = op
            message += payload
            if b0 & 0x80:
                return opcode, message

    def send(self, method, **params):
        self.next_id += 1
        payload = json.dumps({"id": self.next_id, "method": method, "params": params}).encode()
        header = bytes([0x81])
        if len(payload) < 126:
            header += bytes([0x80 | len(payload)])
        elif len(payload) < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", len(payload))
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", len(payload))
        mask = os.urandom(4)
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
        return self.next_id

    def call(self, method, timeout=30, **params):
        wanted = self.send(method, **params)
        deadline = time.time() + timeout
        while wanted not in self.results:
            if time.time() > deadline:
                raise TimeoutError(method)
            _, raw = self._read_message()
            message = json.loads(raw)
            if "id" in message:
                self.results[message["id"]] = message
            else:
                self.events.append(message)
        return self.results.pop(wanted)

    def evaluate(self, expression, timeout=30):
        answer = self.call("Runtime.evaluate", timeout=timeout, expression=expression, awaitPromise=True, returnByValue=True)
        result = answer.get("result", {})
        if "exceptionDetails" in result:
            return None
        return result.get("result", {}).get("value")

    def wait_for(self, expression, seconds):
        deadline = time.time() + seconds
        while time.time() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.5)
        return None


passed = failed = 0


def check(condition, name, detail=""):
    global passed, failed
    if condition:
        passed += 1
        print(f"ok   - {name}")
    else:
        failed += 1
        print(f"FAIL - {name}" + (f": {detail}" if detail else ""))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The load is finished when the spinner is gone and the workflow tabs are up; a failed start keeps the spinner.
LOADED = "!!window.app && !!app.graph && !document.querySelector('.p-progressspinner') && !!document.querySelector('.workflow-tabs')"
# What the frontend shows when something went wrong: the error-report dialog or an error toast.
ERRORS = ("JSON.stringify(Array.from(document.querySelectorAll('.comfy-error-report, .p-toast-message-error'))"
          ".map(e => e.innerText.replace(/\\s+/g, ' ').slice(0, 200)))")

profile = tempfile.mkdtemp(prefix="frontend-probe-")
port = free_port()
browser = subprocess.Popen([CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                            f"--remote-debugging-port={port}", f"--user-data-dir={profile}", "--window-size=1400,900",
                            "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
summary = {}
try:
    page = None
    for _ in range(100):
        try:
            targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json", timeout=2))
            page = next(t for t in targets if t["type"] == "page")
            break
        except Exception:
            time.sleep(0.2)
    if page is None:
        raise RuntimeError("Chromium's DevTools endpoint did not come up")
    tools = DevTools(page["webSocketDebuggerUrl"])
    tools.call("Page.enable")
    tools.call("Page.navigate", url=URL)

    check(tools.wait_for(LOADED, 60), "the graph editor loads (no spinner left, workflow tabs shown)")
    first_sid = tools.wait_for("window.app && app.api && app.api.clientId", 20)
    check(first_sid and first_sid == tools.evaluate("window.name"),
          "the WebSocket's status message gave the page a client id", f"clientId={first_sid!r}")

    # A reload connects /ws?clientId=<adopted sid>; the server must keep that id.
    tools.call("Page.reload")
    time.sleep(1)
    check(tools.wait_for(LOADED, 60), "the graph editor loads again after a reload")
    second_sid = tools.wait_for("window.app && app.api && app.api.clientId", 20)
    check(second_sid == first_sid, "after the reload the WebSocket keeps the adopted client id",
          f"{first_sid!r} then {second_sid!r}")
    nodes = tools.wait_for("window.app && app.graph.nodes.length", 20) or 0
    check(nodes > 0, "the default workflow is on the canvas", f"{nodes} nodes")
    errors = json.loads(tools.evaluate(ERRORS) or "[]")
    check(not errors, "no error dialog or error toast after loading", "; ".join(errors))

    before = set(json.loads(tools.evaluate("fetch('/api/history').then(r => r.text())") or "{}"))
    tools.evaluate("app.queuePrompt(0)", timeout=60)
    job = tools.wait_for("fetch('/api/history').then(r => r.json()).then(h => JSON.stringify(Object.entries(h)"
                         f".filter(([id]) => !{json.dumps(sorted(before))}.includes(id))"
                         ".map(([id, e]) => [id, e.status && e.status.status_str, e.outputs])))"
                         ".then(s => s === '[]' ? null : s)", 60)
    entries = json.loads(job or "[]")
    check(entries and entries[0][1] == "success", "Run: the default workflow reaches /api/history as a success", job or "no entry")
    images = [image for _, _, outputs in entries for output in (outputs or {}).values() for image in output.get("images", [])]
    if images:
        image = images[0]
        query = "&".join(f"{k}={urllib.parse.quote(str(image.get(k, '')))}" for k in ("filename", "subfolder", "type"))
        kind = tools.evaluate(f"fetch('/api/view?{query}').then(r => r.status + ' ' + r.headers.get('content-type'))")
        check(kind == "200 image/png", "the output image is served by /api/view", kind or "")
    else:
        check(False, "the job has an output image")
    errors = json.loads(tools.evaluate(ERRORS) or "[]")
    check(not errors, "no error dialog or error toast after the run", "; ".join(errors))

    # The whole graph with the Save Image node showing the output (best effort: the command may be renamed).
    tools.evaluate("app.extensionManager.command.execute('Comfy.Canvas.FitView').then(() => true)")
    time.sleep(1)
    shot = tools.call("Page.captureScreenshot", format="png")
    with open(SCREENSHOT, "wb") as f:
        f.write(base64.b64decode(shot["result"]["data"]))
    summary = {"client_id": first_sid, "nodes": nodes, "job": entries[0][0] if entries else None}
except Exception as error:  # a broken page or browser is a failure, not a crash of the check
    check(False, "the DevTools session ran to the end", repr(error))
finally:
    browser.terminate()
    try:
        browser.wait(10)
    except subprocess.TimeoutExpired:
        browser.kill()
    shutil.rmtree(profile, ignore_errors=True)
print("summary " + json.dumps(summary))
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
