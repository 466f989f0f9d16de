import ComfyWire
import Foundation
import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// One `/ws` connection: registers the sid, writes queued frames, reads the client's first message.
struct WebSocketSession {
    let node: SimulatedNode

    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, request: Request) async throws {
        let requested = request.uri.queryParameters.get("clientId") ?? ""
        let sid = requested.isEmpty ? UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased() : requested
        let (client, frames) = await node.connect(sid: sid)
        do {
            try await pump(frames: frames, inbound: inbound, outbound: outbound, client: client)
        } catch {
            await node.disconnect(client)
            throw error
        }
        await node.disconnect(client)
    }

    private func pump(
        frames: AsyncStream<OutboundFrame>, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter,
        client: WebSocketClient
    ) async throws {
        let node = self.node
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await frame in frames {
                    await node.untilThawed()
                    switch frame {
                    case .text(let text): try await outbound.write(.text(text))
                    case .binary(let bytes): try await outbound.write(.binary(ByteBuffer(bytes: bytes)))
                    }
                }
            }
            group.addTask {
                var first = true
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    guard first else { continue }
                    if case .text(let text) = message {
                        first = false
                        await node.receivedFirstMessage(text, from: client)
                    }
                }
            }
            // Either side ending ends the session: the client left, or the node dropped it.
            _ = try await group.next()
            group.cancelAll()
        }
    }
}
