import ComfyWire
import Testing

@Suite struct HistoryEntryTests {
    private func entry(_ body: String, id: String) throws -> HistoryEntry {
        let history = try JSONValue(parsing: body)
        return try HistoryEntry(json: try #require(history[id]))
    }

    @Test func recordedSuccessSerializesBackToTheSameText() throws {
        let id = "531fb06c-6a2c-4ae5-8abf-1b08a84c224f"
        let entry = try entry(Recorded.historySuccess, id: id)
        let body: JSONValue = [id: entry.json]
        #expect(body.jsonString(.python) == Recorded.historySuccess)
    }

    @Test func recordedSuccessHasOutputsStatusAndMeta() throws {
        let id = "531fb06c-6a2c-4ae5-8abf-1b08a84c224f"
        let entry = try entry(Recorded.historySuccess, id: id)
        #expect(entry.prompt.promptID == id)
        #expect(entry.outputs["3"]?["images"]?[0]?["filename"] == "work_00001_.png")
        #expect(entry.status?.statusStr == "success")
        #expect(entry.status?.completed == true)
        #expect(entry.status?.messages.map(\.event) == ["execution_start", "execution_cached", "execution_success"])
        #expect(entry.meta["3"]?["parent_node"] == .null)
        #expect(
            try entry.status?.messages.last?.serverMessage
                == .executionSuccess(promptID: id, timestamp: 1_795_304_995_512))
    }

    @Test func recordedErrorKeepsTheExecutionErrorMessage() throws {
        let id = "7c13b012-0344-4307-a735-9ef3ee1b3e8c"
        let entry = try entry(Recorded.historyError, id: id)
        #expect(entry.status?.statusStr == "error")
        #expect(entry.status?.completed == false)
        #expect(entry.outputs.isEmpty)
        let last = try #require(entry.status?.messages.last)
        guard case .executionError(let error) = try last.serverMessage else {
            Issue.record("last message is not execution_error")
            return
        }
        #expect(error.nodeType == "AcceptanceFail")
        let body: JSONValue = [id: entry.json]
        #expect(body.jsonString(.python) == Recorded.historyError)
    }

    @Test func missingStatusIsWrittenAsNull() throws {
        let text = #"{"prompt":[1,"p",{},{},[]],"outputs":{},"status":null,"meta":{}}"#
        let entry = try HistoryEntry(json: JSONValue(parsing: text))
        #expect(entry.status == nil)
        #expect(entry.json.jsonString(.compact) == text)
    }

    @Test func statusMessageIsAnEventDataPair() throws {
        let message = try StatusMessage(
            json: JSONValue(parsing: #"["execution_start",{"prompt_id":"p","timestamp":1}]"#))
        #expect(message == StatusMessage(event: "execution_start", data: ["prompt_id": "p", "timestamp": 1]))
        #expect(message.json.jsonString(.compact) == #"["execution_start",{"prompt_id":"p","timestamp":1}]"#)
    }

    @Test(arguments: [
        (#"{"outputs":{},"status":null,"meta":{}}"#, #"history entry: missing "prompt""#),
        (#"{"prompt":[1,"p",{},{},[]],"outputs":[],"meta":{}}"#, "outputs\" must be an object"),
        (
            #"{"prompt":[1,"p",{},{},[]],"outputs":{},"status":{"status_str":"success","completed":"yes","messages":[]}}"#,
            "\"completed\" must be a boolean"
        ),
        (
            #"{"prompt":[1,"p",{},{},[]],"outputs":{},"status":{"status_str":"success","completed":true,"messages":[["x"]]}}"#,
            "must be [event, data]"
        )
    ])
    func malformedEntriesAreRejectedWithAReason(text: String, reason: String) throws {
        let error = try #require(throws: WireFormatError.self) { try HistoryEntry(json: JSONValue(parsing: text)) }
        #expect(error.message.contains(reason), "\(error.message)")
    }
}
