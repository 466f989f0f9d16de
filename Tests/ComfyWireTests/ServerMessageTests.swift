import ComfyWire
import Testing

@Suite struct ServerMessageTests {
    private func parse(_ text: String) throws -> ServerMessage {
        try ServerMessage(json: JSONValue(parsing: text))
    }

    /// Every recorded message, with the case it must parse to.
    static let recorded: [(text: String, type: String, promptID: String?)] = [
        (Recorded.statusWithSid, "status", nil),
        (Recorded.statusBroadcast, "status", nil),
        (Recorded.featureFlags, "feature_flags", nil),
        (Recorded.executionStart, "execution_start", "9483ddf4-ba78-41ee-ab96-c5fdbfb478ce"),
        (Recorded.executionCached, "execution_cached", "d962846a-2d7b-4319-99ba-84febefa28be"),
        (Recorded.executingNode, "executing", "9483ddf4-ba78-41ee-ab96-c5fdbfb478ce"),
        (Recorded.executingEnd, "executing", "9483ddf4-ba78-41ee-ab96-c5fdbfb478ce"),
        (Recorded.executingReconnect, "executing", nil),
        (Recorded.progress, "progress", "9483ddf4-ba78-41ee-ab96-c5fdbfb478ce"),
        (Recorded.progressState, "progress_state", "9483ddf4-ba78-41ee-ab96-c5fdbfb478ce"),
        (Recorded.executed, "executed", "9483ddf4-ba78-41ee-ab96-c5fdbfb478ce"),
        (Recorded.executionSuccess, "execution_success", "9483ddf4-ba78-41ee-ab96-c5fdbfb478ce"),
        (Recorded.executionError, "execution_error", "a5061dc4-38fa-417f-a338-220905d39f96"),
        (Recorded.executionInterrupted, "execution_interrupted", "74ea8bca-c31a-4e83-8074-18f8542422e8")
    ]

    @Test(arguments: recorded)
    func recordedMessageSerializesBackToTheSameText(text: String, type: String, promptID: String?) throws {
        let message = try parse(text)
        #expect(message.type == type)
        #expect(message.promptID == promptID)
        #expect(message.json.jsonString(.compact) == text)
        guard case .other = message else { return }
        Issue.record("\(type) parsed as .other")
    }

    @Test func initialStatusCarriesTheSid() throws {
        #expect(try parse(Recorded.statusWithSid) == .status(queueRemaining: 0, sid: "acceptance-submitter"))
        #expect(try parse(Recorded.statusBroadcast) == .status(queueRemaining: 1, sid: nil))
    }

    @Test func featureFlagsKeepTheServerDict() throws {
        guard case .featureFlags(let flags) = try parse(Recorded.featureFlags) else {
            Issue.record("not feature_flags")
            return
        }
        #expect(flags.keys == ["supports_preview_metadata", "max_upload_size", "extension"])
        #expect(flags["max_upload_size"] == 104_857_600)
    }

    @Test func executionStartAndSuccessCarryTimestamps() throws {
        #expect(
            try parse(Recorded.executionStart)
                == .executionStart(promptID: "9483ddf4-ba78-41ee-ab96-c5fdbfb478ce", timestamp: 1_795_304_998_140)
        )
        #expect(
            try parse(Recorded.executionSuccess)
                == .executionSuccess(promptID: "9483ddf4-ba78-41ee-ab96-c5fdbfb478ce", timestamp: 1_795_304_999_200)
        )
    }

    @Test func executionCachedListsTheCachedNodes() throws {
        #expect(
            try parse(Recorded.executionCached)
                == .executionCached(
                    nodes: ["1", "2", "3"], promptID: "d962846a-2d7b-4319-99ba-84febefa28be",
                    timestamp: 1_795_304_999_819)
        )
    }

    @Test func executingHasThreeWireForms() throws {
        let promptID = "9483ddf4-ba78-41ee-ab96-c5fdbfb478ce"
        #expect(try parse(Recorded.executingNode) == .executing(node: "1", displayNode: "1", promptID: promptID))
        #expect(try parse(Recorded.executingEnd) == .executing(node: nil, displayNode: nil, promptID: promptID))
        #expect(try parse(Recorded.executingReconnect) == .executing(node: "2", displayNode: nil, promptID: nil))
    }

    @Test func executingAlwaysWritesTheNodeKey() {
        let message = ServerMessage.executing(node: nil, displayNode: nil, promptID: nil)
        #expect(message.json.jsonString(.compact) == #"{"type":"executing","data":{"node":null}}"#)
    }

    @Test func progressKeepsNumberLiterals() throws {
        let message = try parse(Recorded.progress)
        #expect(
            message
                == .progress(
                    value: JSONNumber(1), max: JSONNumber(5), promptID: "9483ddf4-ba78-41ee-ab96-c5fdbfb478ce",
                    node: "2"))
    }

    @Test func progressWithoutPromptWritesNullsAsComfyUIDoes() {
        let message = ServerMessage.progress(value: JSONNumber(0.5), max: JSONNumber(1.0), promptID: nil, node: nil)
        #expect(
            message.json.jsonString(.compact)
                == #"{"type":"progress","data":{"value":0.5,"max":1.0,"prompt_id":null,"node":null}}"#
        )
    }

    @Test func progressStateListsNodesInOrder() throws {
        guard case .progressState(let promptID, let nodes) = try parse(Recorded.progressState) else {
            Issue.record("not progress_state")
            return
        }
        #expect(promptID == "9483ddf4-ba78-41ee-ab96-c5fdbfb478ce")
        #expect(nodes.map(\.nodeID) == ["1", "2"])
        #expect(nodes[0].value.literal == "1.0")
        #expect(nodes[0].state == "finished")
        #expect(
            nodes[1]
                == NodeProgress(
                    nodeID: "2", value: JSONNumber(1), max: JSONNumber(5), state: "running", promptID: promptID,
                    displayNodeID: "2", parentNodeID: nil, realNodeID: "2"))
    }

    @Test func executedCarriesTheUIOutput() throws {
        guard case .executed(let node, let displayNode, let output, _) = try parse(Recorded.executed) else {
            Issue.record("not executed")
            return
        }
        #expect(node == "3")
        #expect(displayNode == "3")
        #expect(output["images"]?[0]?["filename"] == "work_00002_.png")
    }

    @Test func executionErrorCarriesTheException() throws {
        guard case .executionError(let error) = try parse(Recorded.executionError) else {
            Issue.record("not execution_error")
            return
        }
        #expect(error.nodeID == "2")
        #expect(error.nodeType == "AcceptanceFail")
        #expect(error.executed == ["1"])
        #expect(error.exceptionType == "RuntimeError")
        #expect(error.exceptionMessage == "AcceptanceFail raised on purpose\n")
        #expect(error.traceback.count == 5)
        #expect(error.currentOutputs == ["2", "3", "1"])
        #expect(error.timestamp == 1_795_305_004_395)
        #expect(!error.isBlocked)
    }

    @Test func blockedExecutionErrorHasNoTimestamp() throws {
        let text =
            #"{"type":"execution_error","data":{"prompt_id":"p1","node_id":"4","node_type":"Switch","executed":[],"exception_message":"Execution Blocked: no input","exception_type":"ExecutionBlocked","traceback":[],"current_inputs":[],"current_outputs":[]}}"#
        guard case .executionError(let error) = try parse(text) else {
            Issue.record("not execution_error")
            return
        }
        #expect(error.isBlocked)
        #expect(error.currentInputs == [])
        #expect(try parse(text).json.jsonString(.compact) == text)
    }

    @Test func executionInterruptedNamesTheRunningNode() throws {
        #expect(
            try parse(Recorded.executionInterrupted)
                == .executionInterrupted(
                    ExecutionInterrupted(
                        promptID: "74ea8bca-c31a-4e83-8074-18f8542422e8", nodeID: "2", nodeType: "AcceptanceWork",
                        executed: ["1"], timestamp: 1_795_305_005_677))
        )
    }

    @Test func logsRoundTrip() throws {
        let text =
            #"{"type":"logs","data":{"entries":[{"t":"2026-11-21T23:50:10.000Z","m":"Prompt executed in 1.02 seconds\n"}],"size":{"cols":120,"rows":40}}}"#
        let message = try parse(text)
        guard case .logs(let entries, let size) = message else {
            Issue.record("not logs")
            return
        }
        #expect(entries[0]?["m"] == "Prompt executed in 1.02 seconds\n")
        #expect(size["cols"] == 120)
        #expect(message.json.jsonString(.compact) == text)
        #expect(message.promptID == nil)
    }

    @Test func customNodeMessagesAreKeptVerbatim() throws {
        let text =
            #"{"type":"crystools.monitor","data":{"cpu_utilization":12.5,"gpus":[{"vram_used_percent":40.0}],"prompt_id":"p9"}}"#
        let message = try parse(text)
        #expect(message.type == "crystools.monitor")
        #expect(message.promptID == "p9")
        #expect(message.json.jsonString(.compact) == text)
    }

    @Test(arguments: [
        "[]", #""status""#, #"{"data":{}}"#, #"{"type":1,"data":{}}"#, #"{"type":"status"}"#
    ])
    func valueThatIsNotATypeAndDataObjectIsRejected(text: String) throws {
        let error = try #require(throws: WireFormatError.self) { try parse(text) }
        #expect(error.message.hasPrefix("server message"))
    }

    @Test func knownTypeWithTheWrongShapeSaysWhatIsWrong() throws {
        let error = try #require(throws: WireFormatError.self) {
            try parse(#"{"type":"execution_start","data":{"prompt_id":7,"timestamp":1}}"#)
        }
        #expect(error.description == #"execution_start data: "prompt_id" must be a string"#)
        #expect(throws: WireFormatError.self) { try parse(#"{"type":"executing","data":{"prompt_id":"p"}}"#) }
        #expect(throws: WireFormatError.self) { try parse(#"{"type":"status","data":{"status":{}}}"#) }
    }

    @Test func statusMessagesFromHistoryBecomeServerMessages() throws {
        let message = StatusMessage(event: "execution_success", data: ["prompt_id": "p", "timestamp": 5])
        #expect(try message.serverMessage == .executionSuccess(promptID: "p", timestamp: 5))
    }
}
