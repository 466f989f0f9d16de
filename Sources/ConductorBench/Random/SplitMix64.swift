import Foundation

/// A small, fast, seedable random number generator (SplitMix64), so a seed names one trace and one run.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

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
