import ConductorCore
import Foundation

/// The draws the trace generators need.
extension SplitMix64 {
    /// A uniform double in [0, 1).
    public mutating func unit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// An exponential variate with the given mean.
    public mutating func exponential(mean: Double) -> Double {
        -log(1 - unit()) * mean
    }

    /// An index in `0..<weights.count` drawn with probability proportional to its weight.
    public mutating func pick(weights: [Double]) -> Int {
        let total = weights.reduce(0, +)
        var u = unit() * total
        for index in weights.indices {
            if u < weights[index] { return index }
            u -= weights[index]
        }
        return weights.count - 1
    }
}
