import ConductorCore
import Logging
import ServiceLifecycle

/// A node link to start or stop, as an operator adds or removes a node.
public enum LinkChange: Sendable {
    public struct Link: Sendable {
        public var client: NodeClient
        /// Conductor's client id on the node.
        public var sid: String
    }

    case start(Link)
    case stop(name: String)
}

/// Runs one `NodeLink` per node of the fleet: the nodes Conductor starts with, then whatever the coordinator's
/// `linkChanges` say. A stopped link's task ends (its WebSocket closes, its polls stop) before it is forgotten.
struct FleetLinks: Service {
    let initial: [LinkChange.Link]
    let changes: AsyncStream<LinkChange>
    let pollInterval: Double
    let objectInfoInterval: Double
    let events: NodeEventSink
    let logger: Logger

    func run() async throws {
        // A link has nothing to finish: on shutdown every link simply stops.
        try? await cancelWhenGracefulShutdown { await supervise() }
    }

    func supervise() async {
        await withDiscardingTaskGroup { group in
            var stops: [String: AsyncStream<Void>.Continuation] = [:]
            func start(_ link: LinkChange.Link) {
                stops.removeValue(forKey: link.client.name)?.finish()
                let (stopped, stop) = AsyncStream<Void>.makeStream()
                stops[link.client.name] = stop
                let nodeLink = NodeLink(
                    client: link.client, sid: link.sid, pollInterval: pollInterval,
                    objectInfoInterval: objectInfoInterval, events: events, logger: logger)
                group.addTask {
                    // The link runs until the fleet stops or its node is removed, whichever comes first.
                    await withTaskGroup(of: Void.self) { link in
                        link.addTask { try? await nodeLink.run() }
                        link.addTask { for await _ in stopped {} }
                        await link.next()
                        link.cancelAll()
                    }
                }
            }
            for link in initial { start(link) }
            for await change in changes {
                switch change {
                case .start(let link): start(link)
                case .stop(let name): stops.removeValue(forKey: name)?.finish()
                }
            }
            group.cancelAll()
        }
    }
}
