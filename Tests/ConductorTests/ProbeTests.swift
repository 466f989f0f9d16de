import ConductorCore
import ConductorTesting
import SimulatedNode
import Testing

@Suite("Health probes")
struct ProbeTests {
    @Test("/healthz answers while the process lives; /readyz only while a node is up")
    func probes() async throws {
        try await withFleet([TestNodeSpec(.test("a", checkpoints: ["m.safetensors"]))]) { fleet in
            #expect(try await fleet.conductor.get("/healthz").status == 200)
            let ready = try await fleet.conductor.get("/readyz")
            #expect(ready.status == 200, "\(ready.text)")
            await fleet.node("a").inject(.refuseConnections(seconds: 30))
            try await eventually("not ready once the only node is down") {
                try await fleet.conductor.get("/readyz").status == 503
            }
            #expect(try await fleet.conductor.get("/healthz").status == 200)
        }
    }
}
