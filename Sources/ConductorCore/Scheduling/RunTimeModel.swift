/// Learned run times per workflow shape: a job's seconds on a node ≈ its work × its shape's factor ÷ the node's speed.
///
/// The work (`JobRequirements.work`: steps × pixels × batch × frames) is what a prompt says about its size; the shape
/// (`JobRequirements.shape`: checkpoint and class types) carries what it leaves out, such as a model that is slower
/// per step or nodes the estimate does not count; the node's `SpeedEstimate` carries the GPU. Both are learned online
/// from completed jobs, so a shape learned on one node predicts it on every other.
public struct RunTimeModel: Sendable, Hashable {
    /// What is known of one shape.
    public struct Shape: Sendable, Hashable {
        /// Seconds per work unit at speed 1, as a multiple of the estimate (1 until learned).
        public fileprivate(set) var factor = 1.0
        public fileprivate(set) var samples = 0
        /// Moving mean of |predicted ÷ measured − 1| over this shape's jobs, each predicted before it was learned
        /// from; nil before the first.
        public fileprivate(set) var relativeError: Double?
    }

    /// Weight of the newest job once a shape has `1 / alpha` jobs; before that each job weighs 1 / (jobs so far), so
    /// the first job sets the factor outright.
    public static let alpha = 0.1
    /// Weight of the newest error in `Shape.relativeError`.
    public static let errorAlpha = 0.2

    public private(set) var shapes: [String: Shape] = [:]

    public init() {}

    /// Jobs of the shape learned from so far; 0 for a shape never seen.
    public func samples(of shape: String?) -> Int {
        shape.flatMap { shapes[$0]?.samples } ?? 0
    }

    /// The shape's learned factor; 1 for a shape never seen (or none).
    public func factor(of shape: String?) -> Double {
        shape.flatMap { shapes[$0]?.factor } ?? 1
    }

    /// How far off this shape's predictions have been (|predicted ÷ measured − 1|, a moving mean); nil when unknown.
    public func relativeError(of shape: String?) -> Double? {
        shape.flatMap { shapes[$0]?.relativeError }
    }

    /// Predicted seconds for `work` of `shape` on a node of `speed`.
    public func seconds(work: Double, shape: String?, speed: Double) -> Double {
        speed > 0 ? work * factor(of: shape) / speed : .infinity
    }

    /// Learns from one job of `work` and `shape` that ran `seconds` (without a checkpoint load) on a node whose speed
    /// was `speed`. Returns the work to teach the node's `SpeedEstimate` with: the job's work × the shape's new factor
    /// (for a shape's first job that is exactly what the node's speed predicted, so a new shape moves no node's speed).
    /// Measurements that are not positive and finite teach nothing and return nil.
    @discardableResult
    public mutating func record(shape: String, work: Double, speed: Double, seconds: Double) -> Double? {
        guard work > 0, work.isFinite, speed > 0, speed.isFinite, seconds > 0, seconds.isFinite else { return nil }
        var known = shapes[shape] ?? Shape()
        let predicted = work * known.factor / speed
        let error = abs(predicted / seconds - 1)
        known.relativeError = known.relativeError.map { Self.errorAlpha * error + (1 - Self.errorAlpha) * $0 } ?? error
        known.samples += 1
        let weight = max(Self.alpha, 1 / Double(known.samples))
        let measured = seconds * speed / work
        // No clamp: a shape that takes 300× its sampling estimate (a custom node doing the work) is predicted as such.
        known.factor = weight * measured + (1 - weight) * known.factor
        shapes[shape] = known
        return work * known.factor
    }
}
