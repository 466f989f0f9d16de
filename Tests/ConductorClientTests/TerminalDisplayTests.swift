import ConductorTesting
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `submit --wait` in a real terminal: tmux runs it in a pane and the test reads the screen.
@Suite("Progress on a real terminal")
struct TerminalDisplayTests {
    static let tmux: String? = ["/usr/bin/tmux", "/usr/local/bin/tmux", "/opt/homebrew/bin/tmux"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test(
        "submit --wait draws a progress bar redrawn in place, and the pane shows the saved file and exit 0",
        .enabled(
            if: tmux != nil && FileManager.default.isExecutableFile(atPath: "/bin/bash"),
            "tmux is not installed (apt-get install -y tmux); the terminal check is skipped"))
    func progressInTmux() async throws {
        let tmux = try #require(Self.tmux)
        try await withNode { _, node in
            try await withTemporaryDirectory { directory in
                _ = try Fixtures.write(Fixtures.workflow(steps: 20), in: directory)
                let socket = "conductor-test-\(UUID().uuidString.prefix(8))"
                // The pane stays after the command ends, so the screen can be read; no shell lingers.
                let config = directory.appendingPathComponent("tmux.conf")
                try Data("set -g remain-on-exit on\n".utf8).write(to: config)
                let command =
                    "cd '\(directory.path)' && '\(CLIProcess.executable.path)' submit workflow.json --server \(node.base) "
                    + "--wait --output-dir out; echo EXIT=$?"
                // The tmux server this starts must not inherit Foundation's descriptors (Process would wait for it),
                // so bash (dash cannot name descriptors above 9) closes every descriptor above 2 first.
                let closeAndRun = #"for fd in /proc/self/fd/*; do n=${fd##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-"; done; exec "$0" "$@""#
                _ = try Self.run(
                    "/bin/bash",
                    [
                        "-c", closeAndRun, tmux, "-L", socket, "-u", "-f", config.path,
                        "new-session", "-d", "-x", "100", "-y", "30", command
                    ], capture: false)
                // The server inherits a signal mask that blocks SIGTERM (so `kill-server` does nothing): SIGKILL it.
                defer {
                    if let pid = Int32(
                        (try? Self.run(tmux, ["-L", socket, "display-message", "-p", "#{pid}"]))?
                            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "")
                    {
                        kill(pid, SIGKILL)
                    }
                    try? FileManager.default.removeItem(atPath: "/tmp/tmux-\(getuid())/\(socket)")
                }
                var screen = ""
                try await eventually(timeout: 20, "EXIT= in the tmux pane") {
                    screen = try Self.run(tmux, ["-L", socket, "capture-pane", "-p"])
                    return screen.contains("EXIT=")
                }
                #expect(screen.contains("EXIT=0"), "\(screen)")
                #expect(screen.contains("Saved out/ComfyUI_00001_.png"), "\(screen)")
                let bars = screen.split(separator: "\n").filter { $0.contains("(KSampler)  [") }
                // Redrawn in place: one bar line is left on screen, full, not one line per update.
                #expect(bars.count == 1, "\(screen)")
                #expect(bars.first?.contains("████") == true && bars.first?.contains("100%  20/20") == true, "\(screen)")
                #expect(!screen.contains("[2K") && !screen.contains("[J"), "\(screen)")
            }
        }
    }

    /// Runs a command to the end and returns its standard output (when captured).
    static func run(_ executable: String, _ arguments: [String], capture: Bool = true) throws -> String {
        let child = try Spawned(executable, arguments, captureStdout: capture, captureStderr: false)
        let output = Mutex<[UInt8]>([])
        let ends = DispatchSemaphore(value: 0)
        Spawned.drain(child.stdout, { chunk in output.withLock { $0 += chunk } }, done: { ends.signal() })
        Spawned.drain(child.stderr, { _ in }, done: { ends.signal() })
        child.onExit { _ in ends.signal() }
        for _ in 0..<3 { ends.wait() }
        return String(decoding: output.withLock { $0 }, as: UTF8.self)
    }
}
