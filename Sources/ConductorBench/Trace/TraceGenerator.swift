import ConductorCore

/// Seeded synthetic traces: Poisson arrivals, exponential or uniform work, Zipf(1) checkpoint popularity.
public struct TraceGenerator: Sendable, Hashable {
    /// How job work is drawn.
    public enum Work: Sendable, Hashable {
        case exponential(mean: Double)
        case uniform(low: Double, high: Double)

        public var mean: Double {
            switch self {
            case .exponential(let mean): mean
            case .uniform(let low, let high): (low + high) / 2
            }
        }
    }

    /// Jobs per second (Poisson process).
    public var arrivalRate: Double
    public var work: Work
    /// Number of checkpoints, popularity of the k-th ∝ 1/k; 0 = jobs load no checkpoint.
    public var checkpoints: Int
    /// Number of clients, each job's client drawn uniformly.
    public var clients: Int

    public init(arrivalRate: Double, work: Work, checkpoints: Int = 0, clients: Int = 1) {
        self.arrivalRate = arrivalRate
        self.work = work
        self.checkpoints = checkpoints
        self.clients = max(1, clients)
    }

    /// Name of the k-th most popular checkpoint (0-based).
    public static func checkpointName(_ rank: Int) -> String { "ckpt-\(rank + 1).safetensors" }

    /// `count` jobs; the same seed gives the same trace.
    public func trace(jobs count: Int, seed: UInt64) -> Trace {
        var random = SplitMix64(seed: seed)
        let weights = (0..<checkpoints).map { 1 / Double($0 + 1) }
        var jobs: [TraceJob] = []
        jobs.reserveCapacity(count)
        var time = 0.0
        for id in 0..<count {
            time += random.exponential(mean: 1 / arrivalRate)
            let amount: Double =
                switch work {
                case .exponential(let mean): random.exponential(mean: mean)
                case .uniform(let low, let high): low + (high - low) * random.unit()
                }
            let checkpoint = checkpoints > 0 ? Self.checkpointName(random.pick(weights: weights)) : nil
            let client = clients > 1 ? "client-\(Int(random.next() % UInt64(clients)) + 1)" : "client-1"
            jobs.append(TraceJob(id: id, arrival: time, checkpoint: checkpoint, work: amount, client: client))
        }
        return Trace(jobs: jobs)
    }
}
