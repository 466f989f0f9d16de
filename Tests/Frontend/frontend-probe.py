#!/usr/bin/env python3
"""Drives the ComfyUI frontend in headless Chromium over the DevTools protocol (stdlib only).

usage: frontend-probe.py CHROMIUM URL SCREENSHOT

Loads URL, waits for the graph editor, reloads once (the frontend then reconnects its WebSocket with the
client id it adopted), queues the default workflow with the frontend's own app.queuePrompt, and waits for
the job in /api/history. Prints one "ok - ..." or "FAIL - ..." line per check and a JSON summary line.
"""
import json
import os
import sys
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Browser"))
from headless import Checks, chromium_page  # noqa: E402

CHROMIUM, URL, SCREENSHOT = sys.argv[1], sys.argv[2], sys.argv[3]


check = Checks()


# The load is finished when the spinner is gone and the workflow tabs are up; a failed start keeps the spinner.
LOADED = "!!window.app && !!app.graph && !document.querySelector('.p-progressspinner') && !!document.querySelector('.workflow-tabs')"
# What the frontend shows when something went wrong: the error-report dialog or an error toast.
ERRORS = ("JSON.stringify(Array.from(document.querySelectorAll('.comfy-error-report, .p-toast-message-error'))"
          ".map(e => e.innerText.replace(/\\s+/g, ' ').slice(0, 200)))")

summary = {}
try:
    with chromium_page(CHROMIUM, "1400,900", "frontend-probe-") as tools:
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
        tools.screenshot(SCREENSHOT)
        summary = {"client_id": first_sid, "nodes": nodes, "job": entries[0][0] if entries else None}
except Exception as error:  # a broken page or browser is a failure, not a crash of the check
    check(False, "the DevTools session ran to the end", repr(error))
print("summary " + json.dumps(summary))
check.finish()
