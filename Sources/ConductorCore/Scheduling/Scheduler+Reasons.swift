extension Scheduler {
    /// The words an operator reads for one node's verdict.
    static func reason(_ verdict: Verdict, job: JobRequirements, node: NodeSnapshot) -> String {
        switch verdict {
        case .unhealthy:
            return node.health.rawValue
        case .draining:
            return "draining"
        case .missingClass:
            let missing = job.classTypes.subtracting(node.classTypes).sorted()
            return (missing.count == 1 ? "missing class " : "missing classes ") + missing.joined(separator: ", ")
        case .unknownChoice:
            guard let choice = firstUnknownChoice(job, on: node) else { return "unknown combo value" }
            return "no \(choice.input) '\(choice.value)'"
        case .notEnoughVRAM:
            return "not enough VRAM (needs \(gibibytes(job.vramNeeded ?? 0)) of \(gibibytes(node.vramTotal)))"
        case .full:
            return "full (\(node.outstanding)/\(node.maxOutstanding))"
        case .eligible:
            let parts = predictedFinish(job, on: node)
            let total = parts.queue + parts.load + parts.run
            return "finish in \(tenths(total)) s (queue \(tenths(parts.queue)) + load \(tenths(parts.load))"
                + " + run \(tenths(parts.run)))"
        }
    }

    static func gibibytes(_ bytes: Int64) -> String { "\(tenths(Double(bytes) / 1_073_741_824)) GiB" }

    /// One decimal, like `%.1f`, without Foundation.
    static func tenths(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value > 0 ? "inf" : "-inf") }
        let scaled = (value * 10).rounded()
        guard abs(scaled) < 9e17 else { return "\(value)" }
        let units = Int64(scaled)
        let magnitude = units.magnitude
        return (units < 0 ? "-" : "") + "\(magnitude / 10).\(magnitude % 10)"
    }
}
