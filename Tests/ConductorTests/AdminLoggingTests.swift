import ComfyWire
import Conductor
import Foundation
import Logging
import Synchronization
import Testing

/// `--log-format json`: one JSON object per line, metadata as top-level keys.
@Suite("JSON logs")
struct AdminLoggingTests {
    final class Lines: Sendable {
        let storage = Mutex<[String]>([])
        var all: [String] { storage.withLock { $0 } }
        func append(_ line: String) { storage.withLock { $0.append(line) } }
    }

    @Test("each entry is one line of JSON with time, level, label, message and the dotted metadata keys")
    func oneObjectPerLine() throws {
        let lines = Lines()
        var logger = Logger(label: "conductor") { label in JSONLogHandler(label: label, write: lines.append) }
        logger.logLevel = .info
        logger[metadataKey: "node.name"] = "gpu-4090"
        logger.info("node health", metadata: ["health": "down", "prompt.ids": ["a", "b"]])
        logger.warning("could not reach node; requeued\nsecond line \"quoted\"", metadata: ["error": "timed out"])
        logger.debug("not at this level")
        let written = lines.all
        #expect(written.count == 2)
        #expect(written.allSatisfy { $0.hasSuffix("}\n") && $0.dropLast().contains("\n") == false })
        let first = try JSONValue(parsing: written[0])
        #expect(first["level"] == "info")
        #expect(first["label"] == "conductor")
        #expect(first["message"] == "node health")
        #expect(first["node.name"] == "gpu-4090")
        #expect(first["health"] == "down")
        #expect(first["prompt.ids"] == ["a", "b"])
        let time = try #require(first["time"]?.stringValue)
        #expect(time.count == 24 && time.hasSuffix("Z") && time.contains("T"), "\(time)")
        let second = try JSONValue(parsing: written[1])
        #expect(second["message"] == "could not reach node; requeued\nsecond line \"quoted\"")
        #expect(second["level"] == "warning")
    }
}
