import ComfyWire
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One simulated node and Conductor in front of it, each in its own process (so Conductor's memory and CPU are its
/// own), and nginx as a plain reverse proxy in front of the same node when nginx is installed.
public struct LiveSetup: Sendable {
    public static let nodeName = "bench"

    public let node: LiveProcess
    public let conductor: LiveProcess
    public let nginx: LiveProcess?
    public let nodeURL: String
    public let conductorURL: String
    public let nginxURL: String?
    /// The node's files (`input/`, `output/`…) and Conductor's data directory.
    public let nodeDirectory: URL
    public let conductorDirectory: URL
    let executable: String
    let configFile: URL
    let pinned: Bool

    /// Starts everything under `directory`; with `pinConductor`, Conductor runs on CPU 1 only (`taskset -c 1`).
    /// `probe` answers whether a GET of a URL succeeds (the benchmark's own HTTP client).
    public static func start(
        executable: String, directory: URL, pinConductor: Bool, withNginx: Bool = true,
        probe: (String) async -> Bool
    ) async throws -> LiveSetup {
        let nodeDirectory = directory.appendingPathComponent("node")
        let conductorDirectory = directory.appendingPathComponent("conductor")
        let node = try LiveProcess(
            executable, ["sim-node", "--port", "0", "--data-dir", nodeDirectory.path, "--time-scale", "0.001", "--fault-control"])
        let nodePort = try await node.port(after: "listening on http://127.0.0.1:")
        let nodeURL = "http://127.0.0.1:\(nodePort)"
        let cluster: JSONValue = [
            "nodes": [["name": .string(nodeName), "url": .string(nodeURL), "maxOutstanding": 2]],
            "dataDirectory": .string(conductorDirectory.path), "listen": ["host": "127.0.0.1", "port": 0],
            "limits": ["maxQueuedJobs": 10_000_000]
        ]
        let configFile = directory.appendingPathComponent("cluster.json")
        try Data(cluster.serialized(.compact)).write(to: configFile)
        let conductor = try await startConductor(executable: executable, configFile: configFile, pinned: pinConductor)
        var waited = 0
        while !(await probe(conductor.url + "/readyz")) {
            waited += 1
            guard waited < 1500 else { throw LiveBenchError("Conductor not ready: \(conductor.process.text.suffix(2000))") }
            try await Task.sleep(for: .milliseconds(20))
        }
        var nginx: LiveProcess?
        var nginxURL: String?
        if withNginx, let binary = ["/usr/sbin/nginx", "/usr/bin/nginx"].first(where: FileManager.default.isExecutableFile) {
            let (process, url) = try await startNginx(
                binary, upstreamPort: nodePort, directory: directory.appendingPathComponent("nginx"), probe: probe)
            nginx = process
            nginxURL = url
        }
        return LiveSetup(
            node: node, conductor: conductor.process, nginx: nginx, nodeURL: nodeURL, conductorURL: conductor.url,
            nginxURL: nginxURL, nodeDirectory: nodeDirectory, conductorDirectory: conductorDirectory,
            executable: executable, configFile: configFile, pinned: pinConductor)
    }

    static func startConductor(executable: String, configFile: URL, pinned: Bool) async throws -> (process: LiveProcess, url: String) {
        let arguments = ["serve", "--config", configFile.path, "--log-level", "error"]
        let taskset = "/usr/bin/taskset"
        let process =
            pinned && FileManager.default.isExecutableFile(atPath: taskset)
            ? try LiveProcess(taskset, ["-c", "1", executable] + arguments) : try LiveProcess(executable, arguments)
        let port = try await process.port(after: "listening on http://127.0.0.1:")
        return (process, "http://127.0.0.1:\(port)")
    }

    /// Conductor stopped with SIGKILL and started again on the same data directory: the new process and its URL,
    /// and the seconds from the start of the new process to its first 200 from `/readyz`.
    public func restartConductor(ready: (String) async -> Bool) async throws -> (LiveSetup, Double) {
        conductor.stop()
        let started = ContinuousClock.now
        let (process, url) = try await Self.startConductor(executable: executable, configFile: configFile, pinned: pinned)
        while !(await ready(url)) {
            guard ContinuousClock.now - started < .seconds(120) else { throw LiveBenchError("Conductor not ready after a restart") }
            try await Task.sleep(for: .milliseconds(5))
        }
        let seconds = milliseconds(ContinuousClock.now - started) / 1000
        let restarted = LiveSetup(
            node: node, conductor: process, nginx: nginx, nodeURL: nodeURL, conductorURL: url, nginxURL: nginxURL,
            nodeDirectory: nodeDirectory, conductorDirectory: conductorDirectory, executable: executable,
            configFile: configFile, pinned: pinned)
        return (restarted, seconds)
    }

    public func stop() {
        nginx?.stop()
        conductor.stop()
        node.stop()
    }

    /// nginx as a plain reverse proxy (HTTP/1.1 keep-alive to the node, no buffering), one worker, in the foreground.
    static func startNginx(_ binary: String, upstreamPort: Int, directory: URL, probe: (String) async -> Bool) async throws -> (LiveProcess, String) {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let port = try freePort()
        let dir = directory.path
        let conf = """
            daemon off; master_process off; worker_processes 1; pid \(dir)/nginx.pid; error_log \(dir)/error.log warn;
            events { worker_connections 4096; }
            http {
                access_log off; client_max_body_size 200m;
                client_body_temp_path \(dir)/body; proxy_temp_path \(dir)/proxy; fastcgi_temp_path \(dir)/fastcgi;
                uwsgi_temp_path \(dir)/uwsgi; scgi_temp_path \(dir)/scgi;
                upstream node { server 127.0.0.1:\(upstreamPort); keepalive 64; }
                server {
                    listen 127.0.0.1:\(port);
                    location / { proxy_pass http://node; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off; }
                }
            }
            """
        let file = directory.appendingPathComponent("nginx.conf")
        try conf.write(to: file, atomically: true, encoding: .utf8)
        let process = try LiveProcess(binary, ["-p", dir, "-c", file.path])
        let url = "http://127.0.0.1:\(port)"
        for _ in 0..<250 {
            if await probe(url + "/system_stats") { return (process, url) }
            try await Task.sleep(for: .milliseconds(20))
        }
        process.stop()
        throw LiveBenchError("nginx did not start: \(process.text)")
    }

    static func loopback(_ port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    /// A loopback port nothing listens on now.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw LiveBenchError("socket() failed") }
        defer { close(fd) }
        var address = loopback(0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw LiveBenchError("bind() failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
