extension Scheduler {
    /// Why a node cannot run a job at all; checked in this order.
    enum CapabilityProblem: Hashable {
        case missingClass, unknownChoice, notEnoughVRAM, excluded
    }

    static func capabilityProblem(_ job: JobRequirements, on node: NodeSnapshot) -> CapabilityProblem? {
        if !job.excludedNodes.isEmpty, job.excludedNodes.contains(node.name) { return .excluded }
        if !job.classTypes.isSubset(of: node.classTypes) { return .missingClass }
        if firstUnknownChoice(job, on: node) != nil { return .unknownChoice }
        if let needed = job.vramNeeded, node.vramTotal > 0, needed > node.vramTotal { return .notEnoughVRAM }
        return nil
    }

    /// The first of the job's choices that the node declares a combo for and does not offer.
    static func firstUnknownChoice(_ job: JobRequirements, on node: NodeSnapshot) -> JobRequirements.Choice? {
        guard !node.comboValues.isEmpty else { return nil }
        return job.choices.first { choice in
            guard let allowed = node.comboValues[choice.classType]?[choice.input] else { return false }
            return !allowed.contains(choice.value)
        }
    }
}
