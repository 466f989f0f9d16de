import ComfyWire
import Foundation

/// A job to insert: what `JobStore.insert` was given.
struct NewJob: Sendable {
    var id: String
    var number: JSONNumber
    var clientID: String?
    var principal: String?
    var prompt: JSONValue
    var extraData: JSONObject
    var outputs: [String]
    var createdAt: Int64
}

/// Group commit for submits: every insert that arrives while a commit is being written waits for the next one, which
/// writes them all in one transaction. Each caller still returns only after its own row is durable, but the fsync
/// of `synchronous=FULL` is paid once per batch instead of once per submit.
actor GroupCommit {
    private var waiting: [(job: NewJob, continuation: CheckedContinuation<Job, any Error>)] = []
    private var writing = false

    func insert(_ job: NewJob, into store: JobStore) async throws -> Job {
        try await withCheckedThrowingContinuation { continuation in
            waiting.append((job, continuation))
            if !writing {
                writing = true
                Task { await self.drain(into: store) }
            }
        }
    }

    private func drain(into store: JobStore) async {
        while !waiting.isEmpty {
            let batch = waiting
            waiting = []
            let results = await store.insertAll(batch.map(\.job))
            for (entry, result) in zip(batch, results) { entry.continuation.resume(with: result) }
        }
        writing = false
    }
}
