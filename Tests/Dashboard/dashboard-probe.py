#!/usr/bin/env python3
"""Drives Conductor's dashboard (/conductor/) in headless Chromium over the DevTools protocol (stdlib only).

usage: dashboard-probe.py CHROMIUM BASE_URL PROMPT_FILE ARTIFACT_DIR

Loads BASE_URL/conductor/, waits for the node cards, submits PROMPT_FILE through POST /prompt and watches the
page follow the job (queued or running, then finished with a thumbnail), drains and undrains a node with its
button, checks the page fits a phone's width, and saves desktop and phone screenshots into ARTIFACT_DIR.
Prints one "ok - ..." or "FAIL - ..." line per check, then "N passed, N failed".
"""
import json
import os
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Browser"))
from headless import Checks, chromium_page  # noqa: E402

CHROMIUM, BASE, PROMPT_FILE, ARTIFACTS = sys.argv[1], sys.argv[2].rstrip("/"), sys.argv[3], sys.argv[4]


check = Checks()


def is_png(data):
    return data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


try:
    with chromium_page(CHROMIUM, "1280,900", "dashboard-probe-") as tools:
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
        desktop = tools.screenshot(os.path.join(ARTIFACTS, "dashboard.png"), captureBeyondViewport=True)
        check(is_png(desktop), f"desktop screenshot ({len(desktop)} bytes PNG)")

        tools.call("Emulation.setDeviceMetricsOverride", width=390, height=844, deviceScaleFactor=2, mobile=True)
        time.sleep(0.3)
        widths = tools.evaluate("JSON.stringify([document.documentElement.scrollWidth, window.innerWidth])")
        scroll, inner = json.loads(widths or "[0, 1]")
        check(scroll <= inner, "at phone width (390 px) nothing scrolls sideways", f"content {scroll} px in {inner} px")
        columns = tools.evaluate("getComputedStyle(document.getElementById('nodes')).gridTemplateColumns.split(' ').length")
        check(columns == 1, "at phone width the node cards stack in one column", f"{columns} columns")
        phone = tools.screenshot(os.path.join(ARTIFACTS, "dashboard-phone.png"), captureBeyondViewport=True)
        check(is_png(phone), f"phone screenshot ({len(phone)} bytes PNG)")
except Exception as error:  # a broken page or browser is a failure, not a crash of the check
    check(False, "the DevTools session ran to the end", repr(error))
check.finish()
