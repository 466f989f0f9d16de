import ComfyWire
import ConductorCore
import Foundation

/// A job to insert: what `JobStore.insert` was given.
public struct NewJob: Sendable {
    public var id: String
    public var number: JSONNumber
    public var clientID: String?
    public var principal: String?
    public var prompt: JSONValue
    public var extraData: JSONObject
    public var outputs: [String]
    public var createdAt: Int64
}

/// Group commit for submits: every insert that arrives while a commit is being written waits for the next one, which
/// writes them all in one transaction. Each caller still returns only after its own row is durable, but the fsync
/// of `synchronous=FULL` is paid once per batch instead of once per submit.
public actor GroupCommit {
    public init() {}

    private var waiting: [(job: NewJob, continuation: CheckedContinuation<Job, any Error>)] = []
    private var writing = false

    public func insert(_ job: NewJob, into store: any JobStore) async throws -> ConductorCore.Job {
        try await withCheckedThrowingContinuation { continuation in
            waiting.append((job, continuation))
            if !writing {
                writing = true
                Task { await self.drain(into: store) }
            }
        }
    }

    private func drain(into store: any JobStore) async {
        while !waiting.isEmpty {
            let batch = waiting
            waiting = []
            let results = await store.insertAll(batch.map(\.job))
            for (entry, result) in zip(batch, results) { entry.continuation.resume(with: result) }
        }
        writing = false
    }
}
