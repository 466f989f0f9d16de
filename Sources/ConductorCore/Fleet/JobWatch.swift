import ComfyWire

/// What the coordinator concludes about the jobs it has on a node, as plain values: from a node's `/queue` answer,
/// and from the clock (run-time limits). Times are seconds on the caller's clock. The coordinator carries the
/// conclusions out (marks jobs running, reads history, deletes or interrupts prompts, requeues).
public enum JobWatch {
    /// A job Conductor has on the node.
    public struct OnNode: Sendable, Hashable {
        public var id: String
        public var running: Bool
        /// When the node accepted its `POST /prompt`; nil while its files are delivered and its post is in flight.
        public var postedAt: Double?

        public init(id: String, running: Bool, postedAt: Double?) {
            self.id = id
            self.running = running
            self.postedAt = postedAt
        }
    }

    /// What a node's `/queue` answer says.
    public struct QueueVerdict: Sendable, Hashable {
        /// Conductor's jobs the node now runs (they were waiting).
        public var started: [String] = []
        /// Conductor's jobs the node no longer has: they finished, or the node forgot them (a restart); its history says
        /// which.
        public var gone: [String] = []
        /// Prompts under this Conductor's client id that are not its jobs on this node (moved elsewhere while the node
        /// was away, finished, cancelled): deleted from the node's queue, or interrupted when running.
        public var unexpectedWaiting: [String] = []
        public var unexpectedRunning: [String] = []

        public init() {}
    }

    /// How long after its `POST /prompt` a job may still be missing from a `/queue` answer: one asked a little after
    /// the post may have been answered before the prompt arrived.
    public static let postGraceSeconds = 2.0

    /// Squares Conductor's books with a node's `/queue`, asked at `askedAt`. `clientPrefix` is this Conductor's client
    /// id prefix on nodes; `isHere(id)` says whether a prompt is Conductor's job on this node now.
    public static func reconcile(
        _ queue: QueueStatus, jobs: [OnNode], askedAt: Double, clientPrefix: String, isHere: (String) -> Bool
    ) -> QueueVerdict {
        var verdict = QueueVerdict()
        func unexpected(_ item: QueueItem) -> Bool {
            item.extraData["client_id"]?.stringValue?.hasPrefix(clientPrefix) == true && !isHere(item.promptID)
        }
        verdict.unexpectedRunning = queue.running.filter(unexpected).map(\.promptID)
        verdict.unexpectedWaiting = queue.pending.filter(unexpected).map(\.promptID)
        let running = Set(queue.running.map(\.promptID))
        let pending = Set(queue.pending.map(\.promptID))
        for job in jobs {
            if running.contains(job.id) {
                if !job.running { verdict.started.append(job.id) }
            } else if !pending.contains(job.id), let posted = job.postedAt, askedAt - posted > postGraceSeconds {
                verdict.gone.append(job.id)
            }
        }
        return verdict
    }

    /// A running job.
    public struct Running: Sendable, Hashable {
        public var id: String
        public var startedAt: Double
        /// Predicted seconds from start to end on its node (load + run); nil when unknown.
        public var predictedSeconds: Double?

        public init(id: String, startedAt: Double, predictedSeconds: Double?) {
            self.id = id
            self.startedAt = startedAt
            self.predictedSeconds = predictedSeconds
        }
    }

    /// The running jobs past their time limit at `now`: `limits.runTimeMultiple` × predicted, and at least
    /// `limits.runTimeFloorSeconds`. They are interrupted and run elsewhere.
    public static func overrun(_ jobs: [Running], at now: Double, limits: ClusterConfig.Limits) -> [String] {
        jobs.filter { job in
            now - job.startedAt > max(limits.runTimeFloorSeconds, limits.runTimeMultiple * (job.predictedSeconds ?? 0))
        }.map(\.id)
    }
}
