#!/usr/bin/env python3
"""Structural checks of the deploy recipes in deploy/, run by check-deploy.sh.

usage: deploy_checks.py REPO_ROOT OUT_DIR

Parses every YAML and JSON file, checks that each recipe says what Conductor needs (config path, data
directory, port, probes, sandbox) and that the recipes agree with each other. Writes each cluster.json
example to OUT_DIR/configs/NAME.json, so the shell script can start a real conductor on them. Prints one
"ok"/"FAIL" line per check; exits 1 when a check failed.
"""
import json
import os
import re
import sys

try:
    import yaml
except ImportError:  # check-deploy.sh installs PyYAML first; this is for running the file alone
    sys.exit("FAIL - PyYAML is not installed (python3 -m pip install pyyaml)")

ROOT, OUT = sys.argv[1], sys.argv[2]
DEPLOY = os.path.join(ROOT, "deploy")
CONFIG_PATH = "/etc/conductor/cluster.json"
PORT = 8188
failures = 0


def ok(what):
    print(f"ok   - {what}")


def fail(what):
    global failures
    failures += 1
    print(f"FAIL - {what}")


def check(condition, what, detail=""):
    if condition:
        ok(what)
    else:
        fail(f"{what}{': ' + detail if detail else ''}")
    return condition


def rel(path):
    return os.path.relpath(path, ROOT)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


# ---- cluster.json ---------------------------------------------------------------------------------
# The keys ConductorCore's ClusterConfig accepts; any other key fails start-up.
TOP_KEYS = {"listen", "dataDirectory", "nodes", "pollIntervalSeconds", "objectInfoRefreshSeconds",
            "checkpointLoadSeconds", "scheduler", "files"}
LISTEN_KEYS = {"host", "port"}
NODE_KEYS = {"name", "url", "headers", "maxOutstanding", "speed", "labels"}
SCHEDULER_KEYS = {"affinitySlackSeconds", "startDelayWeight", "evictionWeight", "waitForFullNodeGainSeconds"}
FILES_KEYS = {"maxUploadBytes", "storeMaxBytes", "storeMaxAgeSeconds", "nodeMaxBytes", "transferBytesPerSecond"}


def cluster_problems(config):
    """What Conductor would reject in a parsed cluster.json (a subset of ClusterConfig's checks)."""
    problems = []
    if not isinstance(config, dict):
        return ["not a JSON object"]
    problems += [f"unknown key {k!r}" for k in sorted(set(config) - TOP_KEYS)]
    listen = config.get("listen", {})
    if not isinstance(listen, dict):
        problems.append("listen: not an object")
    else:
        problems += [f"unknown key listen.{k}" for k in sorted(set(listen) - LISTEN_KEYS)]
        if "host" in listen and not isinstance(listen["host"], str):
            problems.append("listen.host: not a string")
        port = listen.get("port", PORT)
        if not (isinstance(port, int) and not isinstance(port, bool) and 0 <= port <= 65535):
            problems.append("listen.port: not an integer in 0...65535")
    if "dataDirectory" in config and not isinstance(config["dataDirectory"], str):
        problems.append("dataDirectory: not a string")
    for key in ("pollIntervalSeconds", "objectInfoRefreshSeconds"):
        if key in config and not (isinstance(config[key], (int, float)) and config[key] > 0):
            problems.append(f"{key}: not a number > 0")
    if "checkpointLoadSeconds" in config and not (
            isinstance(config["checkpointLoadSeconds"], (int, float)) and config["checkpointLoadSeconds"] >= 0):
        problems.append("checkpointLoadSeconds: not a number >= 0")
    for key, known in (("scheduler", SCHEDULER_KEYS), ("files", FILES_KEYS)):
        if key not in config:
            continue
        if not isinstance(config[key], dict):
            problems.append(f"{key}: not an object")
        else:
            problems += [f"unknown key {key}.{k}" for k in sorted(set(config[key]) - known)]
    nodes = config.get("nodes")
    if not isinstance(nodes, list) or not nodes:
        problems.append("nodes: missing or empty")
        nodes = []
    names = set()
    for i, node in enumerate(nodes):
        if not isinstance(node, dict):
            problems.append(f"nodes[{i}]: not an object")
            continue
        problems += [f"unknown key nodes[{i}].{k}" for k in sorted(set(node) - NODE_KEYS)]
        name = node.get("name")
        if not (isinstance(name, str) and re.fullmatch(r"[A-Za-z0-9_.-]+", name) and name not in (".", "..")):
            problems.append(f"nodes[{i}].name: missing or not [A-Za-z0-9_.-]+")
        elif name in names:
            problems.append(f"nodes[{i}].name: duplicate {name!r}")
        names.add(name)
        url = node.get("url")
        if not (isinstance(url, str) and re.match(r"https?://", url)):
            problems.append(f"nodes[{i}].url: missing or not http(s)://")
        for key in ("headers", "labels"):
            value = node.get(key, {})
            if not (isinstance(value, dict) and all(isinstance(v, str) for v in value.values())):
                problems.append(f"nodes[{i}].{key}: not an object of strings")
        if "maxOutstanding" in node and not (isinstance(node["maxOutstanding"], int) and 1 <= node["maxOutstanding"] <= 1000):
            problems.append(f"nodes[{i}].maxOutstanding: not an integer in 1...1000")
        if "speed" in node and not (isinstance(node["speed"], (int, float)) and node["speed"] > 0):
            problems.append(f"nodes[{i}].speed: not a number > 0")
    return problems


def check_cluster(text, where, name):
    """Parses and checks one cluster.json; keeps a copy for check-deploy.sh's run of conductor."""
    try:
        config = json.loads(text)
    except ValueError as error:
        fail(f"{where}: cluster.json is not valid JSON ({error})")
        return None
    problems = cluster_problems(config)
    if not check(not problems, f"{where}: cluster.json parses, known keys only, {len(config.get('nodes', []))} node(s)",
                 "; ".join(problems)):
        return None
    os.makedirs(os.path.join(OUT, "configs"), exist_ok=True)
    with open(os.path.join(OUT, "configs", name + ".json"), "w", encoding="utf-8") as f:
        f.write(text)
    return config


def listen_port(config):
    return config.get("listen", {}).get("port", PORT)


# ---- YAML -----------------------------------------------------------------------------------------
yaml_docs = {}
for directory, _, files in os.walk(DEPLOY):
    for file in sorted(files):
        if file.endswith((".yaml", ".yml")):
            path = os.path.join(directory, file)
            try:
                yaml_docs[rel(path)] = [d for d in yaml.safe_load_all(read(path)) if d is not None]
                ok(f"{rel(path)}: YAML parses ({len(yaml_docs[rel(path)])} document(s))")
            except yaml.YAMLError as error:
                fail(f"{rel(path)}: YAML does not parse: {error}")


# ---- systemd --------------------------------------------------------------------------------------
def unit_entries(text):
    """[(section, key, value)] of a unit file (no line continuations in ours)."""
    entries, section = [], None
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
        elif "=" in line:
            key, value = line.split("=", 1)
            entries.append((section, key.strip(), value.strip()))
    return entries


def check_systemd():
    unit_path = os.path.join(DEPLOY, "systemd", "conductor.service")
    entries = unit_entries(read(unit_path))
    service = {}
    for section, key, value in entries:
        if section == "Service":
            service.setdefault(key, []).append(value)
    last = {key: values[-1] for key, values in service.items()}
    where = rel(unit_path)
    check(last.get("ExecStart") == f"/usr/local/bin/conductor serve --config {CONFIG_PATH}",
          f"{where}: ExecStart runs `conductor serve --config {CONFIG_PATH}`", repr(last.get("ExecStart")))
    check(last.get("DynamicUser") == "yes" or last.get("User", "root") not in ("root", "0"),
          f"{where}: runs as its own user")
    state = last.get("StateDirectory", "")
    check(state == "conductor" and last.get("WorkingDirectory") == "/var/lib/conductor",
          f"{where}: StateDirectory=conductor, WorkingDirectory=/var/lib/conductor")
    required = {"ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes", "NoNewPrivileges": "yes",
                "CapabilityBoundingSet": "", "Restart": "on-failure"}
    wrong = [f"{k}={last.get(k)!r}" for k, v in required.items() if last.get(k) != v]
    check(not wrong, f"{where}: " + ", ".join(f"{k}={v}" for k, v in required.items()), ", ".join(wrong))
    families = set(" ".join(service.get("RestrictAddressFamilies", [])).split())
    check(families == {"AF_INET", "AF_INET6", "AF_UNIX"}, f"{where}: RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
          " ".join(sorted(families)))
    check("@system-service" in service.get("SystemCallFilter", []), f"{where}: SystemCallFilter=@system-service")
    missing = [k for k in ("RestartSec", "TimeoutStopSec", "LimitNOFILE") if not last.get(k)]
    check(not missing, f"{where}: RestartSec, TimeoutStopSec and LimitNOFILE set", "missing " + ", ".join(missing))

    config = check_cluster(read(os.path.join(DEPLOY, "systemd", "cluster.json")), "deploy/systemd/cluster.json", "systemd")
    if config:
        check(config.get("dataDirectory") == f"/var/lib/{state}",
              "deploy/systemd/cluster.json: dataDirectory is the unit's state directory /var/lib/conductor",
              repr(config.get("dataDirectory")))


# ---- Containerfile --------------------------------------------------------------------------------
def instructions(text):
    """[(INSTRUCTION, arguments)] with line continuations joined and comments dropped."""
    out, pending = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = pending + stripped
        pending = ""
        word, _, rest = full.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def ignore_rules(path):
    rules = []
    for line in read(path).splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line[1:] if negate else line
        pattern = pattern.strip("/")
        regex = ""
        i = 0
        while i < len(pattern):
            if pattern.startswith("**", i):
                regex += ".*"
                i += 2
            elif pattern[i] == "*":
                regex += "[^/]*"
                i += 1
            elif pattern[i] == "?":
                regex += "[^/]"
                i += 1
            else:
                regex += re.escape(pattern[i])
                i += 1
        rules.append((re.compile(regex + r"\Z"), negate))
    return rules


def ignored(rules, path):
    """Docker's rule: the last pattern matching the path or one of its parent directories wins."""
    parts = path.split("/")
    candidates = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    result = False
    for regex, negate in rules:
        if any(regex.match(c) for c in candidates):
            result = not negate
    return result


def check_containerfile():
    path = os.path.join(DEPLOY, "container", "Containerfile")
    where = rel(path)
    steps = instructions(read(path))
    stages = [i for i, (word, _) in enumerate(steps) if word == "FROM"]
    check(len(stages) >= 2, f"{where}: multi-stage ({len(stages)} FROM)")
    final = steps[stages[-1]:] if stages else steps
    users = [args for word, args in final if word == "USER"]
    user = users[-1].split(":")[0] if users else "root"
    check(user not in ("root", "0"), f"{where}: runtime stage runs as a non-root USER ({user})")
    check(any(word == "EXPOSE" and str(PORT) in args.split() for word, args in final), f"{where}: EXPOSE {PORT}")
    check(any(word == "VOLUME" and "/data" in args for word, args in final), f"{where}: VOLUME /data")
    check(any(word == "HEALTHCHECK" and "/healthz" in args for word, args in final), f"{where}: HEALTHCHECK on /healthz")
    entry = [args for word, args in final if word == "ENTRYPOINT"]
    try:
        entry_argv = json.loads(entry[-1]) if entry else []
    except ValueError:
        entry_argv = []
    check(len(entry_argv) == 4 and entry_argv[0].endswith("/conductor")
          and entry_argv[1:] == ["serve", "--config", CONFIG_PATH],
          f"{where}: ENTRYPOINT is `conductor serve --config {CONFIG_PATH}` (exec form)", repr(entry_argv))
    build = " ".join(args for word, args in steps[:stages[-1]] if word == "RUN") if stages else ""
    check("swift build" in build and "--product conductor" in build
          and ("--static-swift-stdlib" in build or "--swift-sdk" in build),
          f"{where}: build stage builds the conductor product with a static Swift runtime")
    check("libsqlite3-dev" in build and "zlib1g-dev" in build, f"{where}: build stage installs libsqlite3-dev zlib1g-dev")

    # Every file COPY'd from the build context exists and survives Containerfile.dockerignore.
    rules = ignore_rules(path + ".dockerignore")
    sources = []
    for word, args in steps:
        if word not in ("COPY", "ADD"):
            continue
        argv = args.split()
        if any(a.startswith("--from") for a in argv):
            continue
        argv = [a for a in argv if not a.startswith("--")]
        sources += argv[:-1]
    problems = []
    for source in sources:
        if "*" in source:
            prefix = source.split("*")[0]
            matches = [f for f in os.listdir(os.path.join(ROOT, os.path.dirname(prefix) or "."))
                       if f.startswith(os.path.basename(prefix))]
            if not matches:
                problems.append(f"{source} matches nothing")
            continue
        source = os.path.normpath(source)
        if source == ".":
            continue
        if not os.path.exists(os.path.join(ROOT, source)):
            problems.append(f"{source} does not exist")
        elif ignored(rules, source):
            problems.append(f"{source} is excluded by Containerfile.dockerignore")
    for needed in ("Package.swift", "Sources/conductor", "Tests"):
        if ignored(rules, needed):
            problems.append(f"{needed} is excluded by Containerfile.dockerignore")
    for unwanted in (".build/debug", ".git/HEAD"):
        if not ignored(rules, unwanted):
            problems.append(f"{unwanted} is not excluded by Containerfile.dockerignore")
    check(not problems, f"{where}: COPY sources exist and pass Containerfile.dockerignore ({', '.join(sources)})",
          "; ".join(problems))
    healthcheck = os.path.join(DEPLOY, "container", "healthcheck.sh")
    check(os.access(healthcheck, os.X_OK), f"{rel(healthcheck)}: executable")


# ---- compose --------------------------------------------------------------------------------------
def check_compose():
    where = "deploy/compose/compose.yaml"
    docs = yaml_docs.get(where)
    if not check(docs is not None and len(docs) == 1 and isinstance(docs[0], dict), f"{where}: one YAML mapping"):
        return
    compose = docs[0]
    services = compose.get("services", {})
    check({"conductor", "comfyui-a", "comfyui-b"} <= set(services),
          f"{where}: services conductor, comfyui-a, comfyui-b", ", ".join(services))
    conductor = services.get("conductor", {})
    test = conductor.get("healthcheck", {}).get("test", [])
    test = " ".join(test) if isinstance(test, list) else str(test)
    check("/healthz" in test, f"{where}: conductor healthcheck hits /healthz", test)
    build = conductor.get("build", {})
    base = os.path.join(DEPLOY, "compose")
    context = os.path.normpath(os.path.join(base, build.get("context", ".")))
    dockerfile = os.path.join(context, build.get("dockerfile", "Dockerfile"))
    check(context == os.path.normpath(ROOT) and os.path.samefile(dockerfile, os.path.join(DEPLOY, "container", "Containerfile")),
          f"{where}: conductor is built from the repository root with deploy/container/Containerfile")
    volumes = [str(v) for v in conductor.get("volumes", [])]
    config_mounts = [v for v in volumes if v.split(":")[1:2] == [CONFIG_PATH]]
    check(len(config_mounts) == 1 and config_mounts[0].endswith(":ro")
          and os.path.isfile(os.path.join(base, config_mounts[0].split(":")[0])),
          f"{where}: cluster.json mounted read-only at {CONFIG_PATH}", ", ".join(volumes))
    data = [v.split(":")[0] for v in volumes if v.split(":")[1:2] == ["/data"]]
    check(len(data) == 1 and data[0] in (compose.get("volumes") or {}), f"{where}: a named volume at /data")
    ports = [str(p) for p in conductor.get("ports", [])]
    check(any(p.endswith(f":{PORT}") for p in ports), f"{where}: conductor publishes container port {PORT}", ", ".join(ports))
    node_volumes = {}
    for name in ("comfyui-a", "comfyui-b"):
        node = services.get(name, {})
        devices = node.get("deploy", {}).get("resources", {}).get("reservations", {}).get("devices", [])
        check(any(d.get("driver") == "nvidia" and "gpu" in d.get("capabilities", []) for d in devices),
              f"{where}: {name} reserves an NVIDIA GPU")
        check(bool(node.get("image")), f"{where}: {name} has an image")
        node_volumes[name] = {str(v).split(":")[0] for v in node.get("volumes", [])}
        check(node_volumes[name] and node_volumes[name] <= set(compose.get("volumes") or {}),
              f"{where}: {name} has named volumes of its own")
    check(not (node_volumes.get("comfyui-a", set()) & node_volumes.get("comfyui-b", set())),
          f"{where}: the two nodes share no volume")

    config = check_cluster(read(os.path.join(base, "cluster.json")), "deploy/compose/cluster.json", "compose")
    if config:
        nodes = {n["name"]: n["url"] for n in config["nodes"]}
        check(nodes == {"gpu-a": "http://comfyui-a:8188", "gpu-b": "http://comfyui-b:8188"},
              "deploy/compose/cluster.json: gpu-a -> http://comfyui-a:8188, gpu-b -> http://comfyui-b:8188", repr(nodes))
        check(config.get("listen") == {"host": "0.0.0.0", "port": PORT} and config.get("dataDirectory") == "/data",
              f"deploy/compose/cluster.json: listens on 0.0.0.0:{PORT}, dataDirectory /data")


# ---- Kubernetes -----------------------------------------------------------------------------------
def check_kubernetes():
    objects = []
    for path, docs in yaml_docs.items():
        if path.startswith("deploy/kubernetes/") and not path.endswith("kustomization.yaml"):
            objects += [(path, d) for d in docs]
    bad = [f"{p}: {d.get('kind')!r}/{(d.get('metadata') or {}).get('name')!r}" for p, d in objects
           if not (isinstance(d, dict) and d.get("apiVersion") and d.get("kind") and (d.get("metadata") or {}).get("name"))]
    check(objects and not bad, f"deploy/kubernetes: {len(objects)} object(s), each with apiVersion, kind, metadata.name",
          "; ".join(bad))
    by_kind = {}
    for _, d in objects:
        by_kind.setdefault(d.get("kind"), []).append(d)
    for kind in ("ConfigMap", "PersistentVolumeClaim", "Deployment", "Service"):
        check(len(by_kind.get(kind, [])) == 1, f"deploy/kubernetes: one {kind}")
    if any(len(by_kind.get(k, [])) != 1 for k in ("ConfigMap", "PersistentVolumeClaim", "Deployment", "Service")):
        return
    configmap, pvc, deployment, service = (by_kind[k][0] for k in ("ConfigMap", "PersistentVolumeClaim", "Deployment", "Service"))
    config = check_cluster((configmap.get("data") or {}).get("cluster.json", ""), "deploy/kubernetes ConfigMap", "kubernetes")

    spec = deployment.get("spec", {})
    where = f"Deployment {deployment['metadata']['name']}"
    check(spec.get("replicas") == 1 and spec.get("strategy", {}).get("type") == "Recreate",
          f"{where}: replicas 1, strategy Recreate (SQLite is single-writer)")
    pod = spec.get("template", {}).get("spec", {})
    labels = spec.get("template", {}).get("metadata", {}).get("labels", {})
    check(spec.get("selector", {}).get("matchLabels", {}).items() <= labels.items() and labels,
          f"{where}: selector matches the pod labels")
    check(isinstance(pod.get("terminationGracePeriodSeconds"), int), f"{where}: terminationGracePeriodSeconds set")
    containers = pod.get("containers", [])
    if not check(len(containers) == 1, f"{where}: one container"):
        return
    container = containers[0]
    ports = {p.get("name"): p.get("containerPort") for p in container.get("ports", [])}
    container_ports = set(ports.values())

    def probe(name, path):
        http = container.get(name, {}).get("httpGet", {})
        port = http.get("port")
        port = ports.get(port) if isinstance(port, str) else port
        check(http.get("path") == path and port in container_ports,
              f"{where}: {name} GET {path} on the container port", repr(http))
        return port

    live = probe("livenessProbe", "/healthz")
    probe("readinessProbe", "/readyz")
    if config:
        check(listen_port(config) == live and config.get("listen", {}).get("host") == "0.0.0.0",
              f"{where}: cluster.json listens on 0.0.0.0 at the container port {live}")
    resources = container.get("resources", {})
    check(resources.get("requests") and resources.get("limits"), f"{where}: resources requests and limits")
    pod_security = pod.get("securityContext", {})
    security = container.get("securityContext", {})
    check((security.get("runAsNonRoot") or pod_security.get("runAsNonRoot")) is True
          and security.get("readOnlyRootFilesystem") is True
          and security.get("allowPrivilegeEscalation") is False,
          f"{where}: runAsNonRoot, readOnlyRootFilesystem, no privilege escalation")
    volumes = {v.get("name"): v for v in pod.get("volumes", [])}
    mounts = {m.get("mountPath"): m for m in container.get("volumeMounts", [])}
    config_mount = mounts.get(os.path.dirname(CONFIG_PATH), {})
    config_volume = volumes.get(config_mount.get("name"), {})
    check(config_volume.get("configMap", {}).get("name") == configmap["metadata"]["name"] and config_mount.get("readOnly"),
          f"{where}: the ConfigMap is mounted read-only at {os.path.dirname(CONFIG_PATH)}")
    data_dir = (config or {}).get("dataDirectory", "/data")
    data_volume = volumes.get(mounts.get(data_dir, {}).get("name"), {})
    check(data_volume.get("persistentVolumeClaim", {}).get("claimName") == pvc["metadata"]["name"],
          f"{where}: the PersistentVolumeClaim is mounted at dataDirectory {data_dir}")
    check("/tmp" in mounts, f"{where}: a writable /tmp beside the read-only root")

    svc = service.get("spec", {})
    check(svc.get("selector") and svc["selector"].items() <= labels.items(), f"Service {service['metadata']['name']}: selects the pod")
    targets = [p.get("targetPort") for p in svc.get("ports", [])]
    check(targets and all((ports.get(t) if isinstance(t, str) else t) in container_ports for t in targets),
          f"Service {service['metadata']['name']}: targetPort is the container port", repr(targets))

    kustomization = yaml_docs.get("deploy/kubernetes/kustomization.yaml", [{}])[0] or {}
    resources = kustomization.get("resources", [])
    check(resources and all(os.path.exists(os.path.join(DEPLOY, "kubernetes", r)) for r in resources),
          "deploy/kubernetes/kustomization.yaml: its resources exist", repr(resources))


check_systemd()
check_containerfile()
check_compose()
check_kubernetes()
sys.exit(1 if failures else 0)
