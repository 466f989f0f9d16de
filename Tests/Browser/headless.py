"""What the browser checks share: headless Chromium with one page, a DevTools client, and ok/FAIL lines.

Used by Tests/Frontend/frontend-probe.py and Tests/Dashboard/dashboard-probe.py (stdlib only).
"""
import base64
import contextlib
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


class DevTools:
    """A minimal WebSocket client (stdlib only) for one DevTools page target."""

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

    def wait_for(self, expression, seconds, every=0.1):
        deadline = time.time() + seconds
        while time.time() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(every)
        return None

    def screenshot(self, path, **params):
        shot = self.call("Page.captureScreenshot", format="png", **params)
        data = base64.b64decode(shot["result"]["data"])
        with open(path, "wb") as f:
            f.write(data)
        return data


class Checks:
    """Prints one "ok - ..." or "FAIL - ..." line per check and counts them."""

    def __init__(self):
        self.passed = self.failed = 0

    def __call__(self, condition, name, detail=""):
        if condition:
            self.passed += 1
            print(f"ok   - {name}")
        else:
            self.failed += 1
            print(f"FAIL - {name}" + (f": {detail}" if detail else ""))
        sys.stdout.flush()

    def finish(self):
        """Prints the totals and exits 1 when a check failed."""
        print(f"{self.passed} passed, {self.failed} failed")
        sys.exit(1 if self.failed else 0)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def chromium_page(chromium, window_size, prefix):
    """Headless Chromium with a fresh profile; yields a DevTools client of its page (Page domain enabled) and
    stops the browser and removes the profile afterwards."""
    profile = tempfile.mkdtemp(prefix=prefix)
    port = free_port()
    browser = subprocess.Popen([chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                f"--remote-debugging-port={port}", f"--user-data-dir={profile}",
                                f"--window-size={window_size}", "about:blank"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
        yield tools
    finally:
        browser.terminate()
        try:
            browser.wait(10)
        except subprocess.TimeoutExpired:
            browser.kill()
        shutil.rmtree(profile, ignore_errors=True)
