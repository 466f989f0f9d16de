/// The live dashboard at `/conductor/`: one page, no build step. It renders `/conductor/api/dashboard` as node
/// cards, the fleet queue and recent jobs with thumbnails, kept live by `/conductor/api/events` (falling back to
/// polling), and calls the admin API for drain, cancel and requeue.
enum DashboardPage {
    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Conductor</title>
        <style>
        :root { color-scheme: light dark; --bg: #f4f5f7; --card: #fff; --fg: #1d2330; --muted: #667085; --line: #dde1e7;
          --up: #1f9d55; --suspect: #d97706; --down: #dc2626; --accent: #3b6fd8; --track: #e6e9ee; }
        @media (prefers-color-scheme: dark) {
          :root { --bg: #12151b; --card: #1b2029; --fg: #e6e9ef; --muted: #98a2b3; --line: #2b3240; --track: #2b3240; --accent: #6d9bff; }
        }
        * { box-sizing: border-box; }
        body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; background: var(--bg); color: var(--fg); }
        header.top { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1rem; padding: .75rem 1rem;
          border-bottom: 1px solid var(--line); background: var(--card); position: sticky; top: 0; z-index: 1; }
        header.top h1 { font-size: 1.1rem; margin: 0; }
        #summary { color: var(--muted); flex: 1; min-width: 12rem; }
        #live { font-size: .8rem; color: var(--muted); }
        #live::before { content: ""; display: inline-block; width: .6rem; height: .6rem; border-radius: 50%; margin-right: .3rem;
          background: var(--down); vertical-align: -1px; }
        #live.on::before { background: var(--up); }
        main { padding: 1rem; max-width: 1400px; margin: 0 auto; }
        h2 { font-size: 1rem; margin: 1.2rem 0 .5rem; }
        h2 small { color: var(--muted); font-weight: normal; }
        .grid { display: grid; gap: .75rem; grid-template-columns: repeat(auto-fill, minmax(min(100%, 300px), 1fr)); }
        .card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: .75rem; min-width: 0; }
        .card header { display: flex; align-items: center; gap: .4rem; flex-wrap: wrap; }
        .card h3 { margin: 0; font-size: 1rem; flex: 1; overflow-wrap: anywhere; }
        .pill { font-size: .75rem; padding: .05rem .45rem; border-radius: 999px; border: 1px solid currentColor; }
        .pill.up { color: var(--up); } .pill.suspect { color: var(--suspect); } .pill.down { color: var(--down); }
        .pill.draining { color: var(--suspect); }
        .muted { color: var(--muted); font-size: .8rem; overflow-wrap: anywhere; }
        .meter { height: .5rem; background: var(--track); border-radius: 999px; overflow: hidden; margin: .3rem 0 .15rem; }
        .meter > div { height: 100%; background: var(--accent); transition: width .3s; }
        .meter.vram > div { background: #8b5cf6; }
        dl { display: grid; grid-template-columns: auto 1fr; gap: .15rem .6rem; margin: .5rem 0 0; font-size: .85rem; }
        dt { color: var(--muted); } dd { margin: 0; overflow-wrap: anywhere; }
        .error { color: var(--down); font-size: .8rem; margin-top: .4rem; overflow-wrap: anywhere; }
        .spark { display: flex; align-items: flex-end; gap: 1px; height: 28px; margin-top: .5rem; }
        .spark span { flex: 1; background: var(--accent); min-height: 1px; opacity: .85; }
        .spark span.none { background: var(--track); height: 1px; }
        button { font: inherit; font-size: .8rem; padding: .2rem .6rem; border-radius: 6px; border: 1px solid var(--line);
          background: var(--card); color: var(--fg); cursor: pointer; }
        button:hover { border-color: var(--accent); }
        ol.list { list-style: none; margin: 0; padding: 0; background: var(--card); border: 1px solid var(--line); border-radius: 10px; }
        ol.list li { display: flex; flex-wrap: wrap; align-items: center; gap: .3rem .8rem; padding: .5rem .75rem; border-top: 1px solid var(--line); }
        ol.list li:first-child { border-top: 0; }
        ol.list li.empty { color: var(--muted); }
        .id { font-family: ui-monospace, monospace; font-size: .85rem; }
        .state { font-size: .75rem; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); }
        .state.running, .state.success { color: var(--up); } .state.failed { color: var(--down); } .state.interrupted { color: var(--suspect); }
        li .grow { flex: 1 1 12rem; min-width: 0; }
        details { font-size: .8rem; color: var(--muted); } details ul { margin: .2rem 0; padding-left: 1.1rem; }
        .recent { grid-template-columns: repeat(auto-fill, minmax(min(100%, 170px), 1fr)); }
        .recent figure { margin: 0; }
        .thumb { aspect-ratio: 1; width: 100%; background: var(--track); border-radius: 6px; object-fit: cover; display: block; }
        .recent figcaption { margin-top: .4rem; font-size: .8rem; display: grid; gap: .1rem; }
        #toast { position: fixed; bottom: 1rem; left: 50%; transform: translateX(-50%); background: var(--fg); color: var(--bg);
          padding: .5rem .9rem; border-radius: 8px; display: none; max-width: 90vw; }
        </style>
        </head>
        <body>
        <header class="top"><h1>Conductor</h1><span id="summary">connecting…</span><span id="live">offline</span></header>
        <main>
        <section><h2>Nodes</h2><div id="nodes" class="grid"></div></section>
        <section><h2>Queue <small id="queue-count"></small></h2><ol id="queue" class="list"></ol></section>
        <section><h2>Recent jobs</h2><div id="recent" class="grid recent"></div></section>
        </main>
        <div id="toast" role="status"></div>
        <script>
        "use strict";
        const api = "/conductor/api";

        function h(tag, props, ...children) {
          const el = document.createElement(tag);
          for (const [key, value] of Object.entries(props || {})) {
            if (value === null || value === undefined || value === false) continue;
            if (key === "text") el.textContent = value;
            else if (key === "style") el.style.cssText = value;
            else el.setAttribute(key, value === true ? "" : value);
          }
          for (const child of children.flat()) if (child !== null && child !== undefined && child !== false) el.append(child);
          return el;
        }
        const gib = bytes => (bytes / 2 ** 30).toFixed(1);
        const short = id => (id || "").slice(0, 8);
        const pct = (part, whole) => whole > 0 ? Math.max(0, Math.min(100, 100 * part / whole)) : 0;
        const seconds = s => s === null || s === undefined ? "" : s < 60 ? s.toFixed(1) + " s" : (s / 60).toFixed(1) + " min";
        function viewURL(file) {
          const q = new URLSearchParams({ filename: file.filename, subfolder: file.subfolder || "", type: file.type || "output" });
          return "/view?" + q.toString();
        }
        /// The scheduler's reason for the chosen node, and every candidate's.
        function placement(job) {
          const p = job.placement;
          if (!p || !p.candidates) return null;
          const chosen = p.candidates.find(c => c.node === (job.node || p.node));
          return h("details", {}, h("summary", { text: chosen ? "on " + chosen.node + ": " + chosen.reason : "placement" }),
            h("ul", {}, p.candidates.map(c => h("li", { text: c.node + ": " + c.reason }))));
        }
        function progressBar(progress) {
          if (!progress || !progress.max) return null;
          return h("div", { class: "meter", title: progress.value + " / " + progress.max },
            h("div", { style: "width:" + pct(progress.value, progress.max) + "%" }));
        }
        function actionButton(label, url) { return h("button", { "data-action": label.toLowerCase(), "data-url": url, text: label }); }

        function nodeCard(node) {
          const share = node.utilisation.shares;
          const current = node.current;
          return h("article", { class: "card node", "data-node": node.name, "data-health": node.health },
            h("header", {}, h("h3", { text: node.name }), h("span", { class: "pill " + node.health, text: node.health }),
              node.draining ? h("span", { class: "pill draining", text: "draining" }) : null,
              actionButton(node.draining ? "Undrain" : "Drain", api + "/nodes/" + encodeURIComponent(node.name) + (node.draining ? "/undrain" : "/drain"))),
            h("div", { class: "muted", text: node.url }),
            h("div", { class: "meter vram", title: "VRAM" }, h("div", { style: "width:" + pct(node.vram.used, node.vram.total) + "%" })),
            h("div", { class: "muted", text: "VRAM " + gib(node.vram.used) + " / " + gib(node.vram.total) + " GiB" }),
            h("dl", {},
              h("dt", { text: "Running" }),
              h("dd", { class: "current" }, current
                ? [h("span", { class: "id", text: short(current.id) }),
                   current.progress ? " step " + current.progress.value + "/" + current.progress.max : "", progressBar(current.progress)]
                : "idle"),
              h("dt", { text: "Waiting" }), h("dd", { text: String(node.outstanding.waiting) + " of " + node.outstanding.max + " slots" }),
              h("dt", { text: "Checkpoint" }), h("dd", { text: (node.checkpoint || "none known") +
                (node.planned_checkpoint && node.planned_checkpoint !== node.checkpoint ? " (planned: " + node.planned_checkpoint + ")" : "") }),
              h("dt", { text: "Speed" }), h("dd", { text: node.speed.units_per_second.toFixed(2) + " steps/s" +
                (node.speed.samples ? " (measured, " + node.speed.samples + (node.speed.samples === 1 ? " job" : " jobs") +
                  (node.speed.relative_error !== null ? ", ±" + Math.round(node.speed.relative_error * 100) + "%)" : ")")
                  : " (assumed: not measured yet)") }),
              h("dt", { text: "Jobs" }), h("dd", { text: node.jobs.done + " done, " + node.jobs.failed + " failed" +
                (node.jobs.interrupted ? ", " + node.jobs.interrupted + " interrupted" : "") })),
            node.last_error ? h("div", { class: "error", text: "Last error: " + node.last_error.message +
              " (" + new Date(node.last_error.at).toLocaleTimeString() + ")" }) : null,
            h("div", { class: "spark", title: "busy share per minute, last hour" },
              share.map(s => s === null ? h("span", { class: "none" }) : h("span", { style: "height:" + Math.max(4, s * 100) + "%", title: Math.round(s * 100) + "%" }))));
        }

        function queueItem(job) {
          return h("li", { "data-job": job.id, "data-state": job.state },
            h("span", { class: "id", text: short(job.id) }), h("span", { class: "state " + job.state, text: job.state }),
            h("span", { class: "grow" }, h("span", { text: (job.node ? job.node + " · " : "") + (job.checkpoint || "") }),
              progressBar(job.progress), placement(job)),
            actionButton("Cancel", api + "/jobs/" + encodeURIComponent(job.id) + "/cancel"));
        }

        function recentItem(job) {
          const image = (job.outputs || []).find(f => /\.(png|jpe?g|webp|gif)$/i.test(f.filename));
          return h("figure", { class: "card", "data-job": job.id, "data-state": job.state },
            image ? h("a", { href: viewURL(image), target: "_blank" }, h("img", { class: "thumb", loading: "lazy", alt: image.filename, src: viewURL(image) }))
                  : h("div", { class: "thumb" }),
            h("figcaption", {},
              h("span", {}, h("span", { class: "id", text: short(job.id) }), " ", h("span", { class: "state " + job.state, text: job.state })),
              h("span", { class: "muted", text: [job.node, seconds(job.run_seconds), job.checkpoint].filter(Boolean).join(" · ") }),
              job.error ? h("span", { class: "error", text: job.error }) : null,
              placement(job),
              h("span", {}, actionButton("Requeue", api + "/jobs/" + encodeURIComponent(job.id) + "/requeue"))));
        }

        /// Replaces a container's children, keeping the elements of items that did not change (images stay loaded).
        function reconcile(container, items, keyOf, build, empty) {
          const old = new Map([...container.children].map(el => [el.dataset.key, el]));
          const next = items.map(item => {
            const key = keyOf(item), sig = JSON.stringify(item), existing = old.get(key);
            if (existing && existing.dataset.sig === sig) return existing;
            const made = build(item);
            made.dataset.key = key;
            made.dataset.sig = sig;
            return made;
          });
          if (!next.length && empty) next.push(empty());
          container.replaceChildren(...next);
        }

        function render(state) {
          const nodes = state.nodes || [], counts = state.counts || {};
          const up = nodes.filter(n => n.health === "up").length;
          const waiting = (counts.queued || 0) + (counts.dispatched || 0);
          document.getElementById("summary").textContent =
            up + " of " + nodes.length + " nodes up · " + (counts.running || 0) + " running · " + waiting + " waiting";
          reconcile(document.getElementById("nodes"), nodes, n => n.name, nodeCard);
          document.getElementById("queue-count").textContent = (counts.running || 0) + " running, " + waiting + " waiting";
          reconcile(document.getElementById("queue"), state.queue || [], j => j.id, queueItem,
            () => h("li", { class: "empty", text: "The queue is empty." }));
          reconcile(document.getElementById("recent"), state.history || [], j => j.id, recentItem);
        }

        function setLive(on, text) {
          const live = document.getElementById("live");
          live.classList.toggle("on", on);
          live.textContent = text;
        }
        async function refresh() {
          try {
            const response = await fetch(api + "/dashboard", { cache: "no-store" });
            if (response.ok) render(await response.json());
          } catch (e) { setLive(false, "offline"); }
        }
        function toast(text) {
          const el = document.getElementById("toast");
          el.textContent = text;
          el.style.display = "block";
          clearTimeout(toast.timer);
          toast.timer = setTimeout(() => { el.style.display = "none"; }, 4000);
        }
        document.addEventListener("click", async event => {
          const button = event.target.closest("button[data-action]");
          if (!button) return;
          button.disabled = true;
          try {
            const response = await fetch(button.dataset.url, { method: "POST" });
            const body = await response.json().catch(() => ({}));
            toast(response.ok ? button.textContent + ": done" : (body.error || "failed: " + response.status));
          } catch (e) { toast(String(e)); }
          button.disabled = false;
          refresh();
        });

        function poll() {
          refresh();
          setInterval(refresh, 2000);
          setLive(true, "polling");
        }
        if (window.EventSource) {
          const events = new EventSource(api + "/events");
          events.onopen = () => setLive(true, "live");
          events.onmessage = message => { setLive(true, "live"); render(JSON.parse(message.data)); };
          // The browser retries a dropped stream by itself; one it gave up on (an error status) becomes polling.
          events.onerror = () => { if (events.readyState === EventSource.CLOSED) poll(); else setLive(false, "reconnecting"); };
        } else {
          poll();
        }
        </script>
        </body>
        </html>
        """#
}
