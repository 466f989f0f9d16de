#!/usr/bin/env python3
"""Structural checks of the deploy recipes in deploy/, run by check-deploy.sh.

usage: deploy_checks.py REPO_ROOT OUT_DIR

Parses every YAML and JSON file and the compose recipe's nginx.conf, checks that each recipe says what Conductor
needs (config path, data directory, port, probes, sandbox; with the PostgreSQL store: the database, a shared data
directory, each coordinator's advertise URL, a load balancer passing WebSockets) and that the recipes agree with
each other. Writes each cluster.json example to OUT_DIR/configs/NAME.json, so the shell script can start a real
conductor on them. Prints one "ok"/"FAIL" line per check; exits 1 when a check failed.
"""
import base64
import json
import os
import re
import sys
import urllib.parse

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
            "checkpointLoadSeconds", "scheduler", "files", "limits", "auth", "store"}
LISTEN_KEYS = {"host", "port", "advertiseURL"}
STORE_KEYS = {"sqlite", "postgres"}
POSTGRES_KEYS = {"url", "poolSize"}
SSLMODES = {"disable", "prefer", "require", "verify-ca", "verify-full"}
MAX_UPLOAD_BYTES = 100 << 20  # files.maxUploadBytes' default
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
        if "advertiseURL" in listen and not (isinstance(listen["advertiseURL"], str)
                                             and re.match(r"https?://", listen["advertiseURL"])):
            problems.append("listen.advertiseURL: not an http(s):// URL")
    problems += store_problems(config.get("store", {}))
    if "dataDirectory" in config and not isinstance(config["dataDirectory"], str):
        problems.append("dataDirectory: not a string")
    for key in ("pollIntervalSeconds", "objectInfoRefreshSeconds"):
        if key in config and not (isinstance(config[key], (int, float)) and config[key] > 0):
            problems.append(f"{key}: not a number > 0")
    if "checkpointLoadSeconds" in config and not (
            isinstance(config["checkpointLoadSeconds"], (int, float)) and config["checkpointLoadSeconds"] >= 0):
        problems.append("checkpointLoadSeconds: not a number >= 0")
    for key in ("limits", "auth"):  # their keys are not mirrored here: the binary checks them
        if key in config and not isinstance(config[key], dict):
            problems.append(f"{key}: not an object")
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


def store_problems(store):
    """`store`: absent or {} (SQLite), {"sqlite": …}, or {"postgres": {"url": "postgres://…", "poolSize": N}}."""
    if not isinstance(store, dict):
        return ["store: not an object"]
    problems = [f"unknown key store.{k}" for k in sorted(set(store) - STORE_KEYS)]
    if "postgres" not in store:
        return problems
    postgres = store["postgres"]
    if not isinstance(postgres, dict):
        return problems + ["store.postgres: not an object"]
    problems += [f"unknown key store.postgres.{k}" for k in sorted(set(postgres) - POSTGRES_KEYS)]
    url = postgres.get("url")
    if not isinstance(url, str):
        problems.append("store.postgres.url: missing or not a string")
    else:
        parts = urllib.parse.urlsplit(url)
        sslmode = urllib.parse.parse_qs(parts.query).get("sslmode", ["disable"])[-1]
        if parts.scheme not in ("postgres", "postgresql") or not parts.hostname:
            problems.append("store.postgres.url: not postgres://user:password@host:port/database")
        elif sslmode not in SSLMODES:
            problems.append(f"store.postgres.url: sslmode={sslmode} is not one of disable, prefer, require")
    pool = postgres.get("poolSize", 10)
    if not (isinstance(pool, int) and not isinstance(pool, bool) and 1 <= pool <= 1000):
        problems.append("store.postgres.poolSize: not an integer in 1...1000")
    return problems


def postgres_url(config):
    """store.postgres.url, or None for the SQLite store."""
    store = config.get("store") if isinstance(config, dict) else None
    postgres = store.get("postgres") if isinstance(store, dict) else None
    return postgres.get("url") if isinstance(postgres, dict) else None


def check_cluster(text, where, name):
    """Parses and checks one cluster.json; keeps a copy for check-deploy.sh's run of conductor."""
    try:
        config = json.loads(text)
    except ValueError as error:
        fail(f"{where}: cluster.json is not valid JSON ({error})")
        return None
    problems = cluster_problems(config)
    store = "PostgreSQL store" if postgres_url(config) else "SQLite store"
    if not check(not problems, f"{where}: cluster.json parses, known keys only, {len(config.get('nodes', []))} node(s), "
                 f"{store}", "; ".join(problems)):
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
def environment(service):
    """A compose service's environment as a dict (it may be written as a list of NAME=VALUE)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(str(e).partition("=")[::2] for e in env)
    return {str(k): ("" if v is None else str(v)) for k, v in env.items()}


def depends_on(service):
    """{service: condition} (a plain list means service_started)."""
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {d: "service_started" for d in deps}
    return {k: (v or {}).get("condition", "service_started") for k, v in deps.items()}


def mounts(service):
    """[(source, target, read_only)] of a service's short-syntax volumes."""
    out = []
    for v in service.get("volumes", []):
        parts = str(v).split(":")
        if len(parts) >= 2:
            out.append((parts[0], parts[1], "ro" in parts[2:]))
    return out


def check_compose():
    where = "deploy/compose/compose.yaml"
    docs = yaml_docs.get(where)
    if not check(docs is not None and len(docs) == 1 and isinstance(docs[0], dict), f"{where}: one YAML mapping"):
        return
    compose = docs[0]
    services = compose.get("services", {})
    named_volumes = set(compose.get("volumes") or {})
    base = os.path.join(DEPLOY, "compose")
    coordinators = ("conductor-a", "conductor-b")
    check({"nginx", "postgres", *coordinators, "comfyui-a", "comfyui-b"} <= set(services),
          f"{where}: services nginx, postgres, conductor-a, conductor-b, comfyui-a, comfyui-b", ", ".join(services))
    config = check_cluster(read(os.path.join(base, "cluster.json")), "deploy/compose/cluster.json", "compose")

    # The coordinators: one image, one cluster.json, one data volume, each its own advertise URL.
    data_volumes = set()
    for name in coordinators:
        conductor = services.get(name, {})
        test = conductor.get("healthcheck", {}).get("test", [])
        test = " ".join(test) if isinstance(test, list) else str(test)
        check("/healthz" in test, f"{where}: {name} healthcheck hits /healthz", test)
        build = conductor.get("build", {})
        context = os.path.normpath(os.path.join(base, build.get("context", ".")))
        dockerfile = os.path.join(context, build.get("dockerfile", "Dockerfile"))
        check(context == os.path.normpath(ROOT) and os.path.isfile(dockerfile)
              and os.path.samefile(dockerfile, os.path.join(DEPLOY, "container", "Containerfile")),
              f"{where}: {name} is built from the repository root with deploy/container/Containerfile")
        volumes = mounts(conductor)
        config_mounts = [(src, ro) for src, target, ro in volumes if target == CONFIG_PATH]
        check(len(config_mounts) == 1 and config_mounts[0][1] and os.path.samefile(
                  os.path.join(base, config_mounts[0][0]), os.path.join(base, "cluster.json")),
              f"{where}: {name} mounts ./cluster.json read-only at {CONFIG_PATH}", repr(volumes))
        data = [src for src, target, _ in volumes if target == "/data"]
        check(len(data) == 1 and data[0] in named_volumes, f"{where}: {name} has a named volume at /data", repr(data))
        data_volumes.update(data)
        advertise = environment(conductor).get("CONDUCTOR_ADVERTISE_URL")
        port = listen_port(config) if config else PORT
        check(advertise == f"http://{name}:{port}", f"{where}: {name} CONDUCTOR_ADVERTISE_URL=http://{name}:{port}",
              repr(advertise))
        check(depends_on(conductor).get("postgres") == "service_healthy",
              f"{where}: {name} starts once postgres is healthy", repr(depends_on(conductor)))
        check(conductor.get("restart") in ("always", "unless-stopped"),
              f"{where}: {name} restart: always or unless-stopped (a leader without its database exits)",
              repr(conductor.get("restart")))
        check(not conductor.get("ports"), f"{where}: {name} publishes no port (nginx does)", repr(conductor.get("ports")))
    check(len(data_volumes) == 1, f"{where}: the coordinators share one data volume ({', '.join(sorted(data_volumes))})")

    # PostgreSQL, and cluster.json's URL toward it.
    postgres = services.get("postgres", {})
    check(str(postgres.get("image", "")).startswith("postgres:16"), f"{where}: postgres image postgres:16",
          repr(postgres.get("image")))
    test = postgres.get("healthcheck", {}).get("test", [])
    test = " ".join(test) if isinstance(test, list) else str(test)
    check("pg_isready" in test, f"{where}: postgres healthcheck runs pg_isready", test)
    pg_data = [src for src, target, _ in mounts(postgres) if target == "/var/lib/postgresql/data"]
    check(len(pg_data) == 1 and pg_data[0] in named_volumes and pg_data[0] not in data_volumes,
          f"{where}: postgres keeps /var/lib/postgresql/data in a named volume of its own", repr(pg_data))
    check(not postgres.get("ports"), f"{where}: postgres publishes no port")
    env = environment(postgres)
    password = re.fullmatch(r"\$\{POSTGRES_PASSWORD:?-([^}]*)\}", env.get("POSTGRES_PASSWORD", ""))
    check(password is not None, f"{where}: POSTGRES_PASSWORD comes from the environment, with a placeholder default",
          repr(env.get("POSTGRES_PASSWORD")))
    url = postgres_url(config)
    if config and check(url is not None, "deploy/compose/cluster.json: store.postgres is set"):
        parts = urllib.parse.urlsplit(url)
        user, database = env.get("POSTGRES_USER", "postgres"), env.get("POSTGRES_DB") or env.get("POSTGRES_USER", "postgres")
        wanted = (user, password.group(1) if password else None, "postgres", 5432, "/" + database)
        got = (parts.username, parts.password, parts.hostname, parts.port or 5432, parts.path)
        check(got == wanted, f"deploy/compose/cluster.json: store URL is {user}@postgres:5432/{database} with "
              "compose's default password", repr(got))

    # nginx in front, with its configuration.
    nginx = services.get("nginx", {})
    check(str(nginx.get("image", "")).startswith("nginx:1.27"), f"{where}: nginx image nginx:1.27", repr(nginx.get("image")))
    ports = [str(p) for p in nginx.get("ports", [])]
    check(any(p.endswith(f":{PORT}") for p in ports), f"{where}: nginx publishes container port {PORT}", ", ".join(ports))
    conf_mounts = [(src, target, ro) for src, target, ro in mounts(nginx) if target.startswith("/etc/nginx/")]
    check(len(conf_mounts) == 1 and conf_mounts[0][2] and conf_mounts[0][1].startswith("/etc/nginx/conf.d/")
          and conf_mounts[0][1].endswith(".conf") and os.path.isfile(os.path.join(base, conf_mounts[0][0])),
          f"{where}: nginx mounts ./nginx.conf read-only in /etc/nginx/conf.d/", repr(conf_mounts))
    check(set(coordinators) <= set(depends_on(nginx)), f"{where}: nginx depends on both coordinators")
    check_nginx(os.path.join(base, "nginx.conf"), [f"{name}:{listen_port(config) if config else PORT}" for name in coordinators],
                PORT, ((config or {}).get("files") or {}).get("maxUploadBytes", MAX_UPLOAD_BYTES))

    # The GPU nodes.
    node_volumes = {}
    for name in ("comfyui-a", "comfyui-b"):
        node = services.get(name, {})
        devices = node.get("deploy", {}).get("resources", {}).get("reservations", {}).get("devices", [])
        check(any(d.get("driver") == "nvidia" and "gpu" in d.get("capabilities", []) for d in devices),
              f"{where}: {name} reserves an NVIDIA GPU")
        check(bool(node.get("image")), f"{where}: {name} has an image")
        node_volumes[name] = {src for src, _, _ in mounts(node)}
        check(node_volumes[name] and node_volumes[name] <= named_volumes,
              f"{where}: {name} has named volumes of its own")
    check(not (node_volumes.get("comfyui-a", set()) & node_volumes.get("comfyui-b", set())),
          f"{where}: the two nodes share no volume")

    if config:
        nodes = {n["name"]: n["url"] for n in config["nodes"]}
        check(nodes == {"gpu-a": "http://comfyui-a:8188", "gpu-b": "http://comfyui-b:8188"},
              "deploy/compose/cluster.json: gpu-a -> http://comfyui-a:8188, gpu-b -> http://comfyui-b:8188", repr(nodes))
        check(config.get("listen") == {"host": "0.0.0.0", "port": PORT} and config.get("dataDirectory") == "/data",
              f"deploy/compose/cluster.json: listens on 0.0.0.0:{PORT}, dataDirectory /data")


# ---- nginx ----------------------------------------------------------------------------------------
def nginx_parse(text):
    """[(directive, [args], [children])] of an nginx configuration; raises ValueError when unbalanced."""
    text = re.sub(r"(?m)(^|\s)#.*$", r"\1", text)
    tokens = re.findall(r"'[^']*'|\"[^\"]*\"|[{};]|[^\s{};]+", text)

    def block(i, depth):
        out, words = [], []
        while i < len(tokens):
            token = tokens[i]
            i += 1
            if token == ";" and words:
                out.append((words[0], words[1:], []))
                words = []
            elif token == "{" and words:
                children, i = block(i, depth + 1)
                out.append((words[0], words[1:], children))
                words = []
            elif token == "}" and not words and depth > 0:
                return out, i
            elif token in ";{}":
                raise ValueError(f"unexpected {token!r} after {' '.join(words)!r}")
            else:
                words.append(token)
        if words or depth > 0:
            raise ValueError("unterminated directive or block")
        return out, i

    return block(0, 0)[0]


def nginx_seconds(value):
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    total = 0.0
    for number, unit in re.findall(r"(\d+)(ms|s|m|h|d|w)?", value):
        total += int(number) * units[unit or "s"]
    return total


def nginx_bytes(value):
    match = re.fullmatch(r"(\d+)([kKmMgG]?)", value)
    if not match:
        return 0
    return int(match.group(1)) << {"": 0, "k": 10, "m": 20, "g": 30}[match.group(2).lower()]


def check_nginx(path, backends, port, max_upload):
    """nginx.conf (an http-context file): an upstream of every coordinator, a server on `port` passing HTTP and
    WebSocket upgrades to it, unbuffered, with long timeouts and room for the largest upload."""
    where = rel(path)
    try:
        top = nginx_parse(read(path))
    except (OSError, ValueError) as error:
        fail(f"{where}: does not parse: {error}")
        return
    ok(f"{where}: parses ({len(top)} top-level directive(s))")
    maps = [c for d, a, c in top if d == "map" and a == ["$http_upgrade", "$connection_upgrade"]]
    entries = {d.strip("'\""): a for d, a, _ in (maps[0] if maps else [])}
    check(entries.get("default") == ["upgrade"] and entries.get("") == ["close"],
          f"{where}: map $http_upgrade $connection_upgrade (default upgrade; '' close)", repr(entries))
    upstreams = {a[0]: [args[0] for d, args, _ in c if d == "server" and args] for d, a, c in top if d == "upstream" and a}
    servers = [c for d, _, c in top if d == "server"]
    listening = [c for c in servers if any(d == "listen" and a and a[0].rsplit(":", 1)[-1] == str(port) for d, a, _ in c)]
    if not check(len(listening) == 1, f"{where}: one server listening on {port}"):
        return
    server = listening[0]
    locations = [c for d, a, c in server if d == "location" and a == ["/"]]
    if not check(len(locations) == 1, f"{where}: a location / in that server"):
        return
    location = locations[0]

    def effective(name):
        """The last value of `name` that applies in location / (its own, else the server's, else the file's)."""
        for scope in (location, server, top):
            values = [a for d, a, _ in scope if d == name]
            if values:
                return values
        return []

    proxy_pass = (effective("proxy_pass") or [[""]])[-1][0]
    upstream = proxy_pass.removeprefix("http://")
    check(proxy_pass.startswith("http://") and sorted(upstreams.get(upstream, [])) == sorted(backends),
          f"{where}: proxy_pass to an upstream of {', '.join(backends)}", f"{proxy_pass} -> {upstreams.get(upstream)}")
    check(effective("proxy_http_version")[-1:] == [["1.1"]], f"{where}: proxy_http_version 1.1")
    headers = {a[0].lower(): a[1:] for a in effective("proxy_set_header") if a}
    check(headers.get("upgrade") == ["$http_upgrade"] and headers.get("connection") == ["$connection_upgrade"],
          f"{where}: proxy_set_header Upgrade $http_upgrade, Connection $connection_upgrade", repr(headers))
    check(effective("proxy_buffering")[-1:] == [["off"]], f"{where}: proxy_buffering off")
    timeout = nginx_seconds((effective("proxy_read_timeout") or [["60s"]])[-1][0])
    check(timeout >= 3600, f"{where}: proxy_read_timeout at least 1 h (long-lived WebSockets)", f"{timeout:g} s")
    body = nginx_bytes((effective("client_max_body_size") or [["1m"]])[-1][0])
    check(body >= max_upload, f"{where}: client_max_body_size at least files.maxUploadBytes ({max_upload >> 20} MiB)",
          f"{body} bytes")


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
    kinds = ("Secret", "PersistentVolumeClaim", "Deployment", "Service", "PodDisruptionBudget")
    for kind in kinds:
        check(len(by_kind.get(kind, [])) == 1, f"deploy/kubernetes: one {kind}")
    if any(len(by_kind.get(k, [])) != 1 for k in kinds):
        return
    secret, pvc, deployment, service, budget = (by_kind[k][0] for k in kinds)

    spec = deployment.get("spec", {})
    where = f"Deployment {deployment['metadata']['name']}"
    pod = spec.get("template", {}).get("spec", {})
    labels = spec.get("template", {}).get("metadata", {}).get("labels", {})
    containers = pod.get("containers", [])
    if not check(len(containers) == 1, f"{where}: one container"):
        return
    container = containers[0]
    volumes = {v.get("name"): v for v in pod.get("volumes", [])}
    mounts = {m.get("mountPath"): m for m in container.get("volumeMounts", [])}

    # cluster.json: the Secret mounted at /etc/conductor (it holds the database password).
    config_mount = mounts.get(os.path.dirname(CONFIG_PATH), {})
    config_volume = volumes.get(config_mount.get("name"), {})
    check(config_volume.get("secret", {}).get("secretName") == secret["metadata"]["name"] and config_mount.get("readOnly"),
          f"{where}: the Secret is mounted read-only at {os.path.dirname(CONFIG_PATH)}")
    text = (secret.get("stringData") or {}).get("cluster.json")
    if text is None and "cluster.json" in (secret.get("data") or {}):
        text = base64.b64decode(secret["data"]["cluster.json"]).decode("utf-8", "replace")
    config = check_cluster(text or "", f"Secret {secret['metadata']['name']}", "kubernetes")
    url = postgres_url(config)
    check(url is not None, f"Secret {secret['metadata']['name']}: cluster.json's store.postgres.url is set "
          "(cluster.json reads no environment variables)")
    shared = url is not None

    replicas = spec.get("replicas", 1)
    strategy = spec.get("strategy", {}).get("type", "RollingUpdate")
    if shared:
        check(replicas == 2 and strategy == "RollingUpdate",
              f"{where}: replicas 2, strategy RollingUpdate (PostgreSQL store: one leader, one follower)",
              f"replicas {replicas}, {strategy}")
    else:
        check(replicas == 1 and strategy == "Recreate", f"{where}: replicas 1, strategy Recreate (SQLite is single-writer)",
              f"replicas {replicas}, {strategy}")
    check(spec.get("selector", {}).get("matchLabels", {}).items() <= labels.items() and labels,
          f"{where}: selector matches the pod labels")
    check(isinstance(pod.get("terminationGracePeriodSeconds"), int), f"{where}: terminationGracePeriodSeconds set")
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

    # Each pod advertises its own address: POD_IP from the downward API, then CONDUCTOR_ADVERTISE_URL from it.
    env = container.get("env", [])
    names = [e.get("name") for e in env]
    pod_ip = next((e for e in env if e.get("name") == "POD_IP"), {})
    advertise = next((e for e in env if e.get("name") == "CONDUCTOR_ADVERTISE_URL"), {})
    check(pod_ip.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "status.podIP",
          f"{where}: POD_IP from the downward API (status.podIP)", repr(pod_ip))
    check(advertise.get("value") == f"http://$(POD_IP):{live}" and names.index("POD_IP") < names.index("CONDUCTOR_ADVERTISE_URL")
          if shared and pod_ip and advertise else not shared,
          f"{where}: CONDUCTOR_ADVERTISE_URL=http://$(POD_IP):{live}, after POD_IP", repr(advertise))

    resources = container.get("resources", {})
    check(resources.get("requests") and resources.get("limits"), f"{where}: resources requests and limits")
    pod_security = pod.get("securityContext", {})
    security = container.get("securityContext", {})
    check((security.get("runAsNonRoot") or pod_security.get("runAsNonRoot")) is True
          and security.get("readOnlyRootFilesystem") is True
          and security.get("allowPrivilegeEscalation") is False,
          f"{where}: runAsNonRoot, readOnlyRootFilesystem, no privilege escalation")
    data_dir = (config or {}).get("dataDirectory", "/data")
    data_volume = volumes.get(mounts.get(data_dir, {}).get("name"), {})
    check(data_volume.get("persistentVolumeClaim", {}).get("claimName") == pvc["metadata"]["name"],
          f"{where}: the PersistentVolumeClaim is mounted at dataDirectory {data_dir}")
    modes = pvc.get("spec", {}).get("accessModes", [])
    if replicas > 1:
        check(modes == ["ReadWriteMany"], f"PersistentVolumeClaim {pvc['metadata']['name']}: ReadWriteMany "
              f"({replicas} pods share the uploads)", repr(modes))
    else:
        check(modes == ["ReadWriteOnce"], f"PersistentVolumeClaim {pvc['metadata']['name']}: ReadWriteOnce (SQLite)",
              repr(modes))
    check("/tmp" in mounts, f"{where}: a writable /tmp beside the read-only root")

    svc = service.get("spec", {})
    check(svc.get("selector") and svc["selector"].items() <= labels.items(), f"Service {service['metadata']['name']}: selects the pod")
    targets = [p.get("targetPort") for p in svc.get("ports", [])]
    check(targets and all((ports.get(t) if isinstance(t, str) else t) in container_ports for t in targets),
          f"Service {service['metadata']['name']}: targetPort is the container port", repr(targets))

    pdb = budget.get("spec", {})
    where = f"PodDisruptionBudget {budget['metadata']['name']}"
    check(budget.get("apiVersion") == "policy/v1" and pdb.get("minAvailable") == 1 and replicas > 1,
          f"{where}: policy/v1, minAvailable 1 of {replicas} pods",
          f"{budget.get('apiVersion')}, minAvailable {pdb.get('minAvailable')!r}")
    selector = pdb.get("selector", {}).get("matchLabels", {})
    check(selector and selector.items() <= labels.items(), f"{where}: selects the pod", repr(selector))

    kustomization = yaml_docs.get("deploy/kubernetes/kustomization.yaml", [{}])[0] or {}
    resources = kustomization.get("resources", [])
    check(resources and all(os.path.exists(os.path.join(DEPLOY, "kubernetes", r)) for r in resources),
          "deploy/kubernetes/kustomization.yaml: its resources exist", repr(resources))


check_systemd()
check_containerfile()
check_compose()
check_kubernetes()
sys.exit(1 if failures else 0)
