import ComfyWire
import Foundation
import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// One client `/ws` connection to Conductor: its sid, the frames the hub queues for it, and its
/// first message (feature flags).
struct ClientSession {
    let coordinator: Coordinator

    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, request: Request) async throws {
        let requested = request.uri.queryParameters.get("clientId") ?? ""
        let sid = requested.isEmpty ? UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased() : requested
        let (id, outbox) = await coordinator.connectClient(sid: sid)
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await frame in outbox.frames {
                        switch frame {
                        case .text(let text): try await outbound.write(.text(text))
                        case .binary(let bytes): try await outbound.write(.binary(ByteBuffer(bytes: bytes)))
                        }
                        outbox.written(frame)
                    }
                }
                group.addTask {
                    // A client cut off for not reading is closed now, not after the frames it will never read.
                    for await _ in outbox.dropped {}
                    if outbox.wasCutOff { throw ClientCutOff() }
                }
                group.addTask {
                    var first = true
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        guard first, case .text(let text) = message else { continue }
                        first = false
                        await coordinator.clientSaid(text, sid: sid, id: id)
                    }
                }
                _ = try await group.next()
                group.cancelAll()
            }
        } catch {
            await coordinator.disconnectClient(sid: sid, id: id)
            throw error
        }
        await coordinator.disconnectClient(sid: sid, id: id)
    }
}

/// The hub closed a client socket that stopped reading.
struct ClientCutOff: Error {}
