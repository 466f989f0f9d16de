import ConductorCore

/// Seeded synthetic traces: Poisson arrivals (steady or in bursts), exponential or uniform work, Zipf(1) checkpoint
/// popularity, optionally LoRAs on top.
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
    /// Number of LoRAs; when > 0 half the jobs apply one, popularity of the k-th ∝ 1/k.
    public var loras = 0
    /// Arrivals come in bursts: the rate is `factor` times higher for the first `seconds` of every `period`, and
    /// lower between, so the mean rate stays `arrivalRate`. nil = steady.
    public var burst: Burst?

    public struct Burst: Sendable, Hashable {
        public var period: Double
        public var seconds: Double
        public var factor: Double

        public init(period: Double, seconds: Double, factor: Double) {
            self.period = period
            self.seconds = seconds
            self.factor = factor
        }
    }

    public init(arrivalRate: Double, work: Work, checkpoints: Int = 0, clients: Int = 1) {
        self.arrivalRate = arrivalRate
        self.work = work
        self.checkpoints = checkpoints
        self.clients = max(1, clients)
    }

    /// Name of the k-th most popular checkpoint (0-based).
    public static func checkpointName(_ rank: Int) -> String { "ckpt-\(rank + 1).safetensors" }

    /// Name of the k-th most popular LoRA (0-based).
    public static func loraName(_ rank: Int) -> String { "lora-\(rank + 1).safetensors" }

    /// The arrival rate at `time`, with bursts.
    func rate(at time: Double) -> Double {
        guard let burst, burst.period > 0, burst.factor > 0 else { return arrivalRate }
        let share = min(1, max(0, burst.seconds / burst.period))
        let base = arrivalRate / (share * burst.factor + 1 - share)
        return time.truncatingRemainder(dividingBy: burst.period) < burst.seconds ? base * burst.factor : base
    }

    /// `count` jobs; the same seed gives the same trace.
    public func trace(jobs count: Int, seed: UInt64) -> Trace {
        var random = SplitMix64(seed: seed)
        let weights = (0..<checkpoints).map { 1 / Double($0 + 1) }
        let loraWeights = (0..<loras).map { 1 / Double($0 + 1) }
        // Inside a burst or between bursts, whichever is faster.
        let peak = burst.map { max(rate(at: 0), rate(at: $0.seconds)) } ?? arrivalRate
        var jobs: [TraceJob] = []
        jobs.reserveCapacity(count)
        var time = 0.0
        for id in 0..<count {
            time += random.exponential(mean: 1 / peak)
            // Bursts by thinning: a candidate at the peak rate is kept with probability rate(t) / peak.
            while burst != nil, random.unit() * peak > rate(at: time) { time += random.exponential(mean: 1 / peak) }
            let amount: Double =
                switch work {
                case .exponential(let mean): random.exponential(mean: mean)
                case .uniform(let low, let high): low + (high - low) * random.unit()
                }
            let checkpoint = checkpoints > 0 ? Self.checkpointName(random.pick(weights: weights)) : nil
            let client = clients > 1 ? "client-\(Int(random.next() % UInt64(clients)) + 1)" : "client-1"
            var lora: String?
            if loras > 0, random.unit() < 0.5 { lora = Self.loraName(random.pick(weights: loraWeights)) }
            jobs.append(TraceJob(id: id, arrival: time, checkpoint: checkpoint, work: amount, client: client, lora: lora))
        }
        return Trace(jobs: jobs)
    }
}
