import Conductor
import ConductorCore
import Foundation
import Logging
import Synchronization

/// A PostgreSQL server for the tests: `CONDUCTOR_TEST_POSTGRES_URL` when set (CI starts one), else a throwaway server
/// this process starts with `Tests/Postgres/start-postgres.sh` (when PostgreSQL is installed). Tests that need it are
/// skipped, saying so, only when neither works.
public enum TestPostgres {
    /// The server's URL (its `postgres` database), or nil with the reason none could be had.
    public static let server: (url: String?, reason: String) = start()

    public static var available: Bool { server.url != nil }

    static func start() -> (url: String?, reason: String) {
        if let url = ProcessInfo.processInfo.environment["CONDUCTOR_TEST_POSTGRES_URL"], !url.isEmpty {
            return (url, "CONDUCTOR_TEST_POSTGRES_URL")
        }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Tests/Postgres/start-postgres.sh")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script.path, "/tmp/conductor-test-postgres-\(getuid())", "55433"]
        // No pipe: the server the script starts would hold it open.
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
            process.waitUntilExit()
        } catch {
            return (nil, "PostgreSQL tests skipped: could not run \(script.path): \(error)")
        }
        if process.terminationStatus != 0 {
            return (nil, "PostgreSQL tests skipped: no server could be started (\(script.path) exited \(process.terminationStatus))")
        }
        return ("postgres://postgres@127.0.0.1:55433/postgres", "started by the tests")
    }

    private static let counter = Atomic<Int>(0)

    /// A new, empty database on the server, and its URL (each test its own, so tests run in parallel).
    public static func freshDatabase() throws -> String {
        guard let url = server.url else { throw TestPostgresUnavailable(reason: server.reason) }
        let name = "conductor_test_\(getpid())_\(counter.add(1, ordering: .relaxed).newValue)_\(UInt32.random(in: 0...UInt32.max))"
        try psql(url, "CREATE DATABASE \(name)")
        guard let slash = url.range(of: "/", options: .backwards) else { return url }
        return String(url[..<slash.lowerBound]) + "/" + name
    }

    /// Runs one statement with `psql`.
    public static func psql(_ url: String, _ sql: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestPostgresUnavailable(
                reason: "psql failed: \(String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))")
        }
    }
}

public struct TestPostgresUnavailable: Error, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}

/// Runs `count` coordinators on loopback sharing one PostgreSQL store (`config.store` must be postgres), in this
/// process; `body` gets their ports in start order. The first to start usually leads; the others follow.
public func withSharedCoordinators<T: Sendable>(
    _ config: ClusterConfig, count: Int, _ body: @Sendable ([Int]) async throws -> T
) async throws -> T {
    var config = config
    config.listen.port = 0
    let (ports, portSink) = AsyncStream<(Int, Int)>.makeStream()
    var logger = Logger(label: "test.coordinators")
    logger.logLevel = .warning
    return try await withThrowingTaskGroup(of: T?.self) { group in
        for index in 0..<count {
            let reported = Once()
            let server = ConductorServer(config: config, logger: logger) { port, _ in
                if reported.first() { portSink.yield((index, port)) }
            }
            group.addTask {
                try await server.run()
                return nil
            }
        }
        var bound: [Int: Int] = [:]
        for await (index, port) in ports {
            bound[index] = port
            if bound.count == count { break }
        }
        do {
            let result = try await body((0..<count).map { bound[$0]! })
            group.cancelAll()
            return result
        } catch {
            group.cancelAll()
            throw error
        }
    }
}
