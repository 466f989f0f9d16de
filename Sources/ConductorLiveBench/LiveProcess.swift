import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A process the live benchmarks start beside themselves (`conductor sim-node`, `conductor serve`, nginx): its
/// output is collected, its resident memory can be read, and it is killed at the end.
public final class LiveProcess: Sendable {
    private let process: Process
    private let output = Output()

    /// What the process printed, appended by the reader thread.
    final class Output: Sendable {
        let bytes = Mutex<[UInt8]>([])
    }

    public init(_ executable: String, _ arguments: [String]) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let handle = pipe.fileHandleForReading
        let output = self.output
        // A plain thread reads the pipe, so a blocking read never holds a thread of the task pool.
        Thread.detachNewThread {
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                output.bytes.withLock { $0 += data }
            }
        }
    }

    public var pid: Int32 { process.processIdentifier }
    public var text: String { String(decoding: output.bytes.withLock { $0 }, as: UTF8.self) }

    /// Waits until the output holds `marker` followed by a port number, and returns that port.
    public func port(after marker: String, timeout: Double = 30) async throws -> Int {
        let deadline = ContinuousClock.now + .seconds(timeout)
        while ContinuousClock.now < deadline {
            let text = self.text
            if let range = text.range(of: marker), let port = Int(text[range.upperBound...].prefix { $0.isNumber }) { return port }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw LiveBenchError("\(process.executableURL?.lastPathComponent ?? "process") did not print \"\(marker)…\": \(text.suffix(2000))")
    }

    /// Resident set size in bytes (VmRSS of /proc/PID/status), nil once the process is gone.
    public var residentBytes: Int64? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kilobytes = Int64(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { return nil }
        return kilobytes * 1024
    }

    /// SIGKILL: nothing these processes hold needs a clean stop.
    public func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

public struct LiveBenchError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
