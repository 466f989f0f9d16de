import ComfyWire
import Testing

@Suite struct QueueStatusTests {
    @Test func recordedQueueSerializesBackToTheSameText() throws {
        let json = try JSONValue(parsing: Recorded.queueRunningAndPending)
        let queue = try QueueStatus(json: json)
        #expect(queue.json.jsonString(.python) == Recorded.queueRunningAndPending)
    }

    @Test func recordedQueueKeepsHeapOrderAndItemFields() throws {
        let queue = try QueueStatus(json: JSONValue(parsing: Recorded.queueRunningAndPending))
        #expect(queue.running.map(\.promptID) == ["fc101c02-f845-430c-8d5f-cd1a03760509"])
        #expect(queue.pending.map(\.number.literal) == ["-12", "11"])
        let running = try #require(queue.running.first)
        #expect(running.clientID == "acceptance-http-client")
        #expect(running.createTime == 1_795_304_996_115)
        #expect(running.outputsToExecute == ["3"])
        #expect(running.prompt["2"]?["inputs"]?["seconds_per_step"]?.numberValue?.literal == "0.2")
    }

    @Test func idleQueueHasNoItems() throws {
        let queue = try QueueStatus(json: JSONValue(parsing: #"{"queue_running": [], "queue_pending": []}"#))
        #expect(queue == QueueStatus())
        #expect(queue.json.jsonString(.python) == #"{"queue_running": [], "queue_pending": []}"#)
    }

    @Test func queueItemBuiltInCodeSerializesAsAFiveElementArray() {
        let item = QueueItem(
            number: JSONNumber(3), promptID: "p", prompt: ["1": ["class_type": "EmptyImage", "inputs": [:]]],
            extraData: ["client_id": "c"], outputsToExecute: ["9"])
        #expect(
            item.json.jsonString(.compact)
                == #"[3,"p",{"1":{"class_type":"EmptyImage","inputs":{}}},{"client_id":"c"},["9"]]"#
        )
        #expect(item.createTime == nil)
    }

    @Test func sixthElementWithSensitiveDataIsDropped() throws {
        let item = try QueueItem(json: JSONValue(parsing: #"[1,"p",{},{},[],{"api_key":"secret"}]"#))
        #expect(item.json.jsonString(.compact) == #"[1,"p",{},{},[]]"#)
    }

    @Test(arguments: [
        (#"[1,"p",{},{}]"#, "must have 5 elements, got 4"),
        (#"{"number":1}"#, "queue item must be an array, got object"),
        (#"["1","p",{},{},[]]"#, "number must be a number"),
        (#"[1,2,{},{},[]]"#, "prompt_id must be a string"),
        (#"[1,"p",{},[],[]]"#, "extra_data must be an object"),
        (#"[1,"p",{},{},[9]]"#, "outputs_to_execute must hold only strings")
    ])
    func malformedQueueItemsAreRejectedWithAReason(text: String, reason: String) throws {
        let error = try #require(throws: WireFormatError.self) { try QueueItem(json: JSONValue(parsing: text)) }
        #expect(error.message.contains(reason), "\(error.message)")
    }

    @Test func queueWithoutPendingListIsRejected() throws {
        let error = try #require(throws: WireFormatError.self) {
            try QueueStatus(json: JSONValue(parsing: #"{"queue_running": []}"#))
        }
        #expect(error.message == #"queue: missing "queue_pending""#)
    }
}
