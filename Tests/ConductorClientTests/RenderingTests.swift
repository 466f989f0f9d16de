import ComfyWire
import ConductorClient
import Foundation
import Synchronization
import Testing

/// Tables, progress, node errors and the event feed as text, without a server.
@Suite("What the CLI prints")
struct RenderingTests {
    @Test("tables align CJK text by terminal columns and cut only flexible columns, only on a terminal")
    func tables() {
        var table = Table([.init("NAME"), .init("NOTE", flexible: true)])
        table.append(["动漫", String(repeating: "x", count: 60)])
        table.append(["ab", "short"])
        let full = table.render(width: nil)
        #expect(full[1].hasSuffix(String(repeating: "x", count: 60)))
        #expect(full[2].hasPrefix("ab    short"))
        let cut = table.render(width: 30)
        #expect(cut.allSatisfy { TextWidth.of($0) <= 30 })
        #expect(cut[1].hasSuffix("…"))
        #expect(TextWidth.of("sdxl-动漫二次元_2.0") == 19)
    }

    @Test("a 400's node_errors are listed per node with title, input and message")
    func nodeErrors() throws {
        let workflow = try Workflow(json: Fixtures.workflow(), source: "w.json")
        let body: JSONValue = [
            "error": ["type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation", "details": "", "extra_info": [:]],
            "node_errors": [
                "4": [
                    "errors": [
                        [
                            "type": "value_not_in_list", "message": "Value not in list",
                            "details": "ckpt_name: 'x.safetensors' not in (list of length 2)",
                            "extra_info": ["input_name": "ckpt_name"]
                        ]
                    ],
                    "dependent_outputs": ["9"], "class_type": "CheckpointLoaderSimple"
                ]
            ]
        ]
        let text = PromptRejection(json: body, workflow: workflow, server: "http://gpu").description
        #expect(text.contains("http://gpu rejected the workflow: Prompt outputs failed validation."))
        #expect(text.contains("node 4 \"Load Checkpoint\" (CheckpointLoaderSimple):"))
        #expect(text.contains("ckpt_name: Value not in list — ckpt_name: 'x.safetensors' not in (list of length 2)"))
        #expect(text.contains("--set 4.ckpt_name=VALUE"))
        let missing = PromptRejection(
            json: [
                "error": [
                    "type": "missing_node_type", "message": "Node 'Foo' not found",
                    "details": "", "extra_info": ["node_id": "12", "class_type": "Foo"]
                ],
                "node_errors": [:]
            ], workflow: nil, server: "s")
        #expect(missing.description.contains("node 12 uses the class Foo, which this server does not have"))
    }

    static func tracked() throws -> JobTracker {
        var tracker = JobTracker(workflow: try Workflow(json: Fixtures.workflow(), source: "w"))
        tracker.follow(promptID: "p1")
        return tracker
    }

    @Test("the job tracker follows one prompt from start to success, collecting its output files")
    func trackerSuccess() throws {
        var tracker = try Self.tracked()
        _ = tracker.handle(.executionStart(promptID: "p1", timestamp: 1000))
        _ = tracker.handle(.progress(value: JSONNumber(2), max: JSONNumber(4), promptID: "p1", node: "3"))
        #expect(tracker.jobs[0].bars == [.init(nodeID: "3", label: "3 \"Sampler\" (KSampler)", value: 2, max: 4)])
        #expect(tracker.handle(.progress(value: JSONNumber(1), max: JSONNumber(1), promptID: "other", node: "3")).isEmpty)
        let output: JSONValue = ["images": [["filename": "a.png", "subfolder": "", "type": "output"]]]
        let changes = tracker.handle(.executed(node: "9", displayNode: "9", output: output, promptID: "p1"))
        #expect(changes == [.outputs(promptID: "p1", [OutputFile(nodeID: "9", filename: "a.png", subfolder: "", type: "output")])])
        #expect(tracker.handle(.executionSuccess(promptID: "p1", timestamp: 3500)) == [.finished(promptID: "p1")])
        #expect(tracker.succeeded && tracker.jobs[0].seconds == 2.5 && tracker.jobs[0].bars[0].value == 4)
        #expect(JobDisplay.result(tracker.jobs[0]) == "✓ p1 done in 2.5s")
    }

    @Test("a failing node ends the job as failed, naming the node")
    func trackerFailure() throws {
        var tracker = try Self.tracked()
        let error = ExecutionError(
            promptID: "p1", nodeID: "3", nodeType: "KSampler", executed: [], exceptionMessage: "CUDA out of memory",
            exceptionType: "RuntimeError", traceback: [], currentInputs: [:], currentOutputs: [], timestamp: 5)
        #expect(tracker.handle(.executionError(error)) == [.finished(promptID: "p1")])
        #expect(!tracker.succeeded)
        #expect(JobDisplay.result(tracker.jobs[0]).contains("failed at node 3 \"Sampler\" (KSampler): CUDA out of memory"))
    }

    @Test("without a terminal, progress is a plain line per quarter with no control characters; on one, bars are redrawn in place")
    func display() throws {
        let text = Captured()
        var plain = JobDisplay(output: Output(isTerminal: false, width: nil) { text.append($0) })
        var tracker = try Self.tracked()
        _ = tracker.handle(.executionStart(promptID: "p1", timestamp: 0))
        for step in 1...8 {
            _ = tracker.handle(.progress(value: JSONNumber(step), max: JSONNumber(8), promptID: "p1", node: "3"))
            plain.refresh(tracker)
        }
        _ = tracker.handle(.executionSuccess(promptID: "p1", timestamp: 900))
        plain.finished(tracker.jobs[0], tracker: tracker)
        #expect(
            text.value == """
                p1  running
                p1  3 "Sampler" (KSampler)  25%  2/8
                p1  3 "Sampler" (KSampler)  50%  4/8
                p1  3 "Sampler" (KSampler)  75%  6/8
                p1  3 "Sampler" (KSampler)  100%  8/8
                ✓ p1 done in 0.9s

                """)
        let screen = Captured()
        var live = JobDisplay(output: Output(isTerminal: true, width: 60) { screen.append($0) })
        var again = try Self.tracked()
        _ = again.handle(.progress(value: JSONNumber(1), max: JSONNumber(2), promptID: "p1", node: "3"))
        live.refresh(again)
        _ = again.handle(.progress(value: JSONNumber(2), max: JSONNumber(2), promptID: "p1", node: "3"))
        live.refresh(again)
        #expect(screen.value.contains("\u{1B}[2A\r\u{1B}[J"))
        #expect(screen.value.contains("█░") && screen.value.contains("100%"))
    }

    @Test("the watch feed names nodes by title once it knows the prompt, and prints outputs and results")
    func feed() throws {
        var feed = EventFeed(isTerminal: false)
        feed.learn(promptID: "abcdef0123", workflow: try Workflow(json: Fixtures.workflow(), source: "w"))
        var lines: [EventFeed.Line] = []
        let messages: [ServerMessage] = [
            .status(queueRemaining: 1, sid: nil), .executionStart(promptID: "abcdef0123", timestamp: 0),
            .executing(node: "3", displayNode: "3", promptID: "abcdef0123"),
            .progress(value: JSONNumber(1), max: JSONNumber(4), promptID: "abcdef0123", node: "3"),
            .executed(
                node: "9", displayNode: "9", output: ["images": [["filename": "x.png", "subfolder": "n1", "type": "output"]]], promptID: "abcdef0123"),
            .executionSuccess(promptID: "abcdef0123", timestamp: 1200)
        ]
        for message in messages { lines += feed.lines(for: .message(message), time: "12:00:00") }
        #expect(
            lines == [
                .permanent("12:00:00  queue: 1 remaining"),
                .permanent("12:00:00  abcdef01  started"),
                .permanent("12:00:00  abcdef01  running node 3 \"Sampler\" (KSampler)"),
                .permanent("12:00:00  abcdef01  node 3 \"Sampler\" (KSampler)  25%  1/4"),
                .permanent("12:00:00  abcdef01  node 9 \"Save Image\" (SaveImage) output: n1/x.png"),
                .permanent("12:00:00  abcdef01  finished: success (1.2s)")
            ])
    }
}

/// Text written to an `Output`, for assertions.
final class Captured: Sendable {
    private let text = Mutex<String>("")
    func append(_ more: String) { text.withLock { $0 += more } }
    var value: String { text.withLock { $0 } }
}
