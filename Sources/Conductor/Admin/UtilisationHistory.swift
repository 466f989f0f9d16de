/// How busy a node was over the last hour: one bucket per minute, each the share of samples that found the
/// node running a job. A fixed ring, so memory stays the same however long Conductor runs.
public struct UtilisationHistory: Sendable, Hashable {
    struct Bucket: Sendable, Hashable {
        /// Which bucket of time this is (seconds since the epoch / `bucketSeconds`).
        var index: Int64
        var busy = 0
        var samples = 0
    }

    public let bucketSeconds: Double
    public let capacity: Int
    private var buckets: [Bucket?]

    public init(bucketSeconds: Double = 60, capacity: Int = 60) {
        self.bucketSeconds = bucketSeconds
        self.capacity = capacity
        buckets = Array(repeating: nil, count: capacity)
    }

    func bucketIndex(at seconds: Double) -> Int64 { Int64((seconds / bucketSeconds).rounded(.down)) }

    func slot(_ index: Int64) -> Int { Int(((index % Int64(capacity)) + Int64(capacity)) % Int64(capacity)) }

    /// Records one look at the node at `seconds` (since the epoch): running a job or not.
    public mutating func record(busy: Bool, at seconds: Double) {
        let index = bucketIndex(at: seconds)
        let slot = slot(index)
        var bucket = buckets[slot].flatMap { $0.index == index ? $0 : nil } ?? Bucket(index: index)
        bucket.samples += 1
        if busy { bucket.busy += 1 }
        buckets[slot] = bucket
    }

    /// The busy share of each bucket, oldest first, the last being the bucket of `seconds`; nil where the node
    /// was not sampled (Conductor not running, or the node not polled).
    public func shares(at seconds: Double) -> [Double?] {
        let newest = bucketIndex(at: seconds)
        return (0..<Int64(capacity)).map { offset in
            let index = newest - Int64(capacity) + 1 + offset
            guard let bucket = buckets[slot(index)], bucket.index == index, bucket.samples > 0 else { return nil }
            return Double(bucket.busy) / Double(bucket.samples)
        }
    }
}
