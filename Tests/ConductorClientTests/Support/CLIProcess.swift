import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing

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

    private let process: Process
    private let stdoutBuffer = Bytes()
    private let stderrBuffer = Bytes()
    private let stdoutPipe = Pipe()
    private let stderrPipe = Pipe()
    private let exited: AsyncStream<Int32>
    private let exitSink: AsyncStream<Int32>.Continuation
    private let drained: AsyncStream<Void>
    private let drainSink: AsyncStream<Void>.Continuation

    /// Starts `conductor ARGS` in `directory`; `CONDUCTOR_SERVER` is removed from the environment unless given.
    init(_ arguments: [String], directory: URL? = nil, environment: [String: String] = [:]) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.executable.path) else {
            throw CLIMissing(description: "\(Self.executable.path) does not exist: run `swift build --build-tests` first")
        }
        process = Process()
        process.executableURL = Self.executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["CONDUCTOR_SERVER"] = nil
        env.merge(environment) { $1 }
        process.environment = env
        if let directory { process.currentDirectoryURL = directory }
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
        process.standardInput = FileHandle.nullDevice
        (exited, exitSink) = AsyncStream<Int32>.makeStream(bufferingPolicy: .bufferingNewest(1))
        (drained, drainSink) = AsyncStream<Void>.makeStream()
        let sink = exitSink
        process.terminationHandler = { sink.yield($0.terminationStatus) }
        try process.run()
        // Plain threads read the pipes, so blocking reads never hold a thread of the test's task pool.
        for (pipe, buffer) in [(stdoutPipe, stdoutBuffer), (stderrPipe, stderrBuffer)] {
            let handle = pipe.fileHandleForReading
            let sink = drainSink
            Thread.detachNewThread {
                while true {
                    let data = handle.availableData
                    if data.isEmpty { break }
                    buffer.append(data)
                }
                sink.yield()
            }
        }
    }

    /// What the process printed on stdout so far.
    var stdout: String { stdoutBuffer.text }

    /// Stops a process that runs until stopped (`watch`). SIGKILL, because a process started from a test
    /// thread may inherit a signal mask that blocks SIGINT and SIGTERM; its output is unbuffered, so none is lost.
    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
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

/// Bytes a pipe delivered, appended from its readability handler.
private final class Bytes: Sendable {
    private let bytes = Mutex<[UInt8]>([])
    func append(_ data: Data) { bytes.withLock { $0 += data } }
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
