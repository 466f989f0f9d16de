import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The built `conductor` executable run as a user runs it: arguments in, stdout, stderr and exit status out.
final class CLIProcess: Sendable {
    struct Result: Sendable {
        var stdout: String
        var stderr: String
        var status: Int32
    }

    /// `.build/debug/conductor`, next to the test bundle (`swift build --build-tests` builds both).
    static let executable: URL = {
        let besideTests = Bundle.main.executableURL?.deletingLastPathComponent().appendingPathComponent("conductor")
        if let besideTests, FileManager.default.isExecutableFile(atPath: besideTests.path) { return besideTests }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(".build/debug/conductor")
    }()

    private let child: Spawned
    private let stdoutBuffer = Bytes()
    private let stderrBuffer = Bytes()
    private let exited: AsyncStream<Int32>
    private let drained: AsyncStream<Void>
    private let running = Flag()

    /// Starts `conductor ARGS` in `directory`; `CONDUCTOR_SERVER` is removed from the environment unless given.
    init(_ arguments: [String], directory: URL? = nil, environment: [String: String] = [:]) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.executable.path) else {
            throw CLIMissing(description: "\(Self.executable.path) does not exist: run `swift build --build-tests` first")
        }
        var env = ProcessInfo.processInfo.environment
        env["CONDUCTOR_SERVER"] = nil
        env.merge(environment) { $1 }
        child = try Spawned(Self.executable.path, arguments, directory: directory?.path, environment: env)
        let (exited, exitSink) = AsyncStream<Int32>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let (drained, drainSink) = AsyncStream<Void>.makeStream()
        self.exited = exited
        self.drained = drained
        let running = running
        child.onExit { status in
            running.value.store(false, ordering: .sequentiallyConsistent)
            exitSink.yield(status)
        }
        let (out, err) = (stdoutBuffer, stderrBuffer)
        Spawned.drain(child.stdout, { out.append($0) }, done: { drainSink.yield() })
        Spawned.drain(child.stderr, { err.append($0) }, done: { drainSink.yield() })
    }

    /// What the process printed on stdout so far.
    var stdout: String { stdoutBuffer.text }

    /// Stops a process that runs until stopped (`watch`). SIGKILL, because a process started from a test
    /// thread may inherit a signal mask that blocks SIGINT and SIGTERM; its output is unbuffered, so none is lost.
    func stop() {
        if running.value.load(ordering: .sequentiallyConsistent) { kill(child.pid, SIGKILL) }
    }

    /// Waits for the process to end and collects everything it printed.
    func wait() async -> Result {
        var iterator = exited.makeAsyncIterator()
        let status = await iterator.next() ?? -1
        var pipes = drained.makeAsyncIterator()
        _ = await pipes.next()
        _ = await pipes.next()
        return Result(stdout: stdout, stderr: stderrBuffer.text, status: status)
    }

    /// Runs `conductor ARGS` to the end.
    static func run(_ arguments: [String], directory: URL? = nil, environment: [String: String] = [:]) async throws -> Result {
        try await CLIProcess(arguments, directory: directory, environment: environment).wait()
    }
}

/// Whether the process still runs.
private final class Flag: Sendable {
    let value = Atomic<Bool>(true)
}

/// Bytes a pipe delivered, appended by the thread that reads it.
private final class Bytes: Sendable {
    private let bytes = Mutex<[UInt8]>([])
    func append(_ chunk: [UInt8]) { bytes.withLock { $0 += chunk } }
    var text: String { String(decoding: bytes.withLock { $0 }, as: UTF8.self) }
}

struct CLIMissing: Error, CustomStringConvertible {
    var description: String
}

extension CLIProcess.Result {
    /// True when the text has no escape sequences or carriage returns: what a log file or pipe should get.
    var hasNoControlCharacters: Bool {
        !(stdout + stderr).unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\r" }
    }
}
