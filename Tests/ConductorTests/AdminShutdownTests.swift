import AsyncHTTPClient
import ComfyWire
import Conductor
import ConductorCore
import ConductorTesting
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import SimulatedNode
import Testing

/// SIGTERM's path: a graceful shutdown of the service group that runs Conductor.
@Suite("Graceful shutdown")
struct AdminShutdownTests {
    static let sd15 = "v1-5-pruned-emaonly.safetensors"

    @Test("a graceful shutdown ends within seconds with a client socket and the dashboard's stream open, and the queue is intact at the next start")
    func gracefulShutdownKeepsTheQueue() async throws {
        try await withNodes([TestNodeSpec(.test("a", checkpoints: [Self.sd15]), maxOutstanding: 1)]) { nodes, config in
            await nodes["a"]!.node.inject(.hang(true))
            var logger = Logger(label: "test.conductor")
            logger.logLevel = .warning
            var served = config
            served.listen.port = 0
            let (ready, readySink) = AsyncStream<(Int, Coordinator)>.makeStream(bufferingPolicy: .bufferingNewest(1))
            let server = ConductorServer(config: served, logger: logger) { port, coordinator in
                if let coordinator { readySink.yield((port, coordinator)) }
            }
            let group = ServiceGroup(configuration: .init(services: [server], logger: logger))
            let ids: [String] = try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                var iterator = ready.makeAsyncIterator()
                let (port, coordinator) = try #require(await iterator.next())
                try await waitUntilReady(coordinator, nodeCount: 1)
                let client = TestClient(port: port)
                var ids: [String] = []
                for seed in 1...3 {
                    ids.append(try await client.submit(["prompt": TestFleet.prompt(checkpoint: Self.sd15, seed: seed), "client_id": "keeper"]))
                }
                try await eventually("the first job running on a") {
                    try await nodes["a"]!.client.get("/queue").json?["queue_running"]?[0]?[1]?.stringValue == ids[0]
                }
                var request = HTTPClientRequest(url: client.base + "/conductor/api/events")
                request.method = .GET
                let stream = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                tasks.addTask { for try await _ in stream.body {} }
                let started = try await withWebSocket(port: port, clientID: "keeper") { _ in
                    let started = ContinuousClock.now
                    await group.triggerGracefulShutdown()
                    return started
                }
                while try await tasks.next() != nil {}
                let took = ContinuousClock.now - started
                // Half a second alone (the dashboard stream's tick); the bound leaves room for a loaded CI machine.
                #expect(took < .seconds(10), "shutdown took \(took)")
                return ids
            }
            // The next start finds the job still running on its node and the other two waiting, in order.
            try await withConductor(config) { coordinator, port in
                try await waitUntilReady(coordinator, nodeCount: 1)
                let client = TestClient(port: port)
                let queue = try #require(try await client.get("/queue").json)
                #expect(queue["queue_running"]?.arrayValue?.compactMap { $0[1]?.stringValue } == [ids[0]])
                #expect(queue["queue_pending"]?.arrayValue?.compactMap { $0[1]?.stringValue } == Array(ids[1...]))
                await nodes["a"]!.node.inject(.hang(false))
                for id in ids { #expect(try await client.waitForHistory(id)["status"]?["status_str"] == "success") }
            }
            #expect(await nodes["a"]!.node.executionCount == 3, "each job ran once")
        }
    }
}
