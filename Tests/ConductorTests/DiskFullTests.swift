import ComfyWire
import Conductor
import ConductorCore
import ConductorTesting
import Foundation
import NIOHTTP1
import Testing

/// Conductor's data directory on a filesystem that fills up: a real tmpfs, so SQLite meets a real ENOSPC.
@Suite("A full disk")
struct DiskFullTests {
    static let model = "v1-5-pruned-emaonly.safetensors"

    /// Mounting a tmpfs needs root (CI runs as root); elsewhere the test is skipped.
    static let canMount = getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/bin/mount")

    static func run(_ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Writes a file until the filesystem has no room left.
    static func fill(_ url: URL) {
        FileManager.default.createFile(atPath: url.path, contents: nil)
        guard let handle = try? FileHandle(forWritingTo: url) else { return }
        defer { try? handle.close() }
        let chunk = Data(repeating: 0x55, count: 16 * 1024)
        while (try? handle.write(contentsOf: chunk)) != nil {}
        let small = Data(repeating: 0x55, count: 512)
        while (try? handle.write(contentsOf: small)) != nil {}
    }

    @Test(
        "submits on a full disk answer 503 with Retry-After, /readyz is not ready; both recover when space returns",
        .enabled(if: canMount, "needs root to mount a tmpfs"))
    func fullDisk() async throws {
        try await withTemporaryDirectory { mountPoint in
            #expect(try Self.run(["/bin/mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", mountPoint.path]) == 0)
            defer { _ = try? Self.run(["/bin/umount", "-l", mountPoint.path]) }
            let data = mountPoint.appendingPathComponent("conductor")
            try await withFleet(
                [TestNodeSpec(.test("a", checkpoints: [Self.model]))], dataDirectory: data,
                configure: { $0.limits.retryAfterSeconds = 3 }
            ) { fleet in
                let conductor = fleet.conductor
                // Jobs accepted now wait in Conductor while the disk is full.
                #expect(try await conductor.post("/conductor/api/nodes/a/drain", [:]).status == 200)
                let before = try await conductor.submit(["prompt": TestFleet.prompt(checkpoint: Self.model, seed: 1)])
                let filler = mountPoint.appendingPathComponent("filler")
                Self.fill(filler)
                var statuses: [Int] = []
                var refusal: HTTPResult?
                for seed in 2...40 {
                    let answer = try await conductor.post("/prompt", ["prompt": TestFleet.prompt(checkpoint: Self.model, seed: seed)])
                    statuses.append(answer.status)
                    if answer.status != 200 {
                        refusal = answer
                        break
                    }
                }
                let refused = try #require(refusal, "every submit was accepted on a full disk: \(statuses)")
                #expect(refused.status == 503)
                #expect(refused.header("Retry-After") == "3")
                #expect(refused.json?["error"]?["type"] == "storage_full")
                let notReady = try await conductor.get("/readyz")
                #expect(notReady.status == 503)
                #expect(notReady.text.contains("store"))
                try FileManager.default.removeItem(at: filler)
                try await eventually(timeout: 10, "/readyz ready again") { try await conductor.get("/readyz").status == 200 }
                let after = try await conductor.submit(["prompt": TestFleet.prompt(checkpoint: Self.model, seed: 100)])
                #expect(try await conductor.post("/conductor/api/nodes/a/undrain", [:]).status == 200)
                // Nothing accepted was lost: what was accepted before, while filling, and after all run once.
                let acceptedCount = 2 + statuses.filter { $0 == 200 }.count
                for id in [before, after] {
                    #expect(try await conductor.waitForHistory(id, timeout: 20)["status"]?["status_str"] == "success")
                }
                try await eventually(timeout: 20, "every accepted job in history") {
                    try await conductor.get("/history").json?.objectValue?.count == acceptedCount
                }
                #expect(try await conductor.get("/prompt").json?["exec_info"]?["queue_remaining"] == 0)
            }
        }
    }
}
