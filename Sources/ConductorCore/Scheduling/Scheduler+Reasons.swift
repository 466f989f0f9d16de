extension Scheduler {
    /// The words an operator reads for why a node was or was not a candidate.
    static func reason(
        _ assessment: Assessment, problem: CapabilityProblem?, job: JobRequirements, node: NodeSnapshot
    ) -> String {
        switch (assessment.status, problem) {
        case (.unhealthy, _):
            return node.health.rawValue
        case (.draining, _):
            return "draining"
        case (_, .missingClass):
            let missing = job.classTypes.subtracting(node.classTypes).sorted()
            return (missing.count == 1 ? "missing class " : "missing classes ") + missing.joined(separator: ", ")
        case (_, .unknownChoice):
            guard let choice = firstUnknownChoice(job, on: node) else { return "unknown combo value" }
            return "no \(choice.input) '\(choice.value)'"
        case (_, .excluded):
            return "excluded (the job failed here before)"
        case (_, .notEnoughVRAM):
            return "not enough VRAM (needs \(gibibytes(job.vramNeeded ?? 0)) of \(gibibytes(node.vramTotal)))"
        case (.full, nil):
            return "full (\(node.outstanding)/\(node.maxOutstanding))"
        case (.room, nil):
            let parts = predictedFinish(job, on: node)
            let transfer = transferSeconds(job, to: node)
            let start = transfer > nonNegative(node.committedSeconds) ? "transfer \(tenths(parts.queue))" : "queue \(tenths(parts.queue))"
            let finish =
                "finish in \(tenths(assessment.finish)) s (\(start) + load \(tenths(parts.load))"
                + " + run \(tenths(parts.run)))"
            var scored = assessment.score == assessment.finish ? finish : finish + ", score \(tenths(assessment.score))"
            if parts.load > 0, let planned = node.plannedCheckpoint, planned != job.checkpoint {
                scored += "; planned for \(planned)"
            }
            if assessment.wantedByQueue, let resident = node.residentCheckpoint {
                scored += "; queued jobs want its \(resident)"
            }
            return scored
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
