extension Scheduler {
    /// Picks among nodes with room (and, when holding back is on, the best full node), asking `capable` only
    /// about nodes that could win, best score first.
    ///
    /// Work-conserving: a job that a node with room can run is held back for a full node only on evidence the
    /// scheduler trusts: both nodes' speeds measured (an assumed speed is never the reason to wait, nor to leave a
    /// node idle), and the full node's lead larger than `waitForFullNodeGainSeconds` and than the job's
    /// `runTimeError` × that node's predicted finish.
    static func select(
        _ job: JobRequirements, on nodes: [NodeSnapshot], _ assessments: [Assessment], knobs: SchedulerKnobs,
        capable: (Int) -> Bool
    ) -> Decision {
        let holdBack = knobs.waitForFullNodeGainSeconds
        var room: [Int] = []
        var full: [Int] = []
        for index in assessments.indices {
            switch assessments[index].status {
            case .room: room.append(index)
            case .full where holdBack != nil: full.append(index)
            default: break
            }
        }
        let slack = nonNegative(knobs.affinitySlackSeconds)
        var chosen = best(among: room, nodes, assessments, slack: slack, capable: capable)
        let fullBest = holdBack == nil ? nil : best(among: full, nodes, assessments, slack: slack, capable: capable)
        var waitingFor: Int?
        if let gain = holdBack, let fullBest {
            if let pick = chosen {
                let margin = max(nonNegative(gain), nonNegative(job.runTimeError ?? 0) * assessments[fullBest].finish)
                let trusted = nodes[fullBest].speedMeasured && nodes[pick].speedMeasured
                if trusted, assessments[fullBest].score + margin < assessments[pick].score {
                    return Decision(
                        node: nil, waitingFor: fullBest, passedOver: pick,
                        predictedGain: assessments[pick].score - assessments[fullBest].score)
                }
            } else {
                waitingFor = fullBest
            }
        }
        return Decision(node: chosen, waitingFor: waitingFor)
    }

    /// The smallest score, except that a node holding the checkpoint wins when it is no more than `slack` seconds
    /// later; ties (within rounding) go to the holder, then the faster node, then the name. Only capable nodes count,
    /// and only nodes that could win are asked.
    static func best(
        among indices: [Int], _ nodes: [NodeSnapshot], _ assessments: [Assessment], slack: Double,
        capable: (Int) -> Bool
    ) -> Int? {
        // The best score among capable nodes: take the smallest, drop it if it cannot run the job, repeat.
        var remaining = indices
        var fastest = Double.infinity
        while true {
            let smallest = remaining.indices.min { assessments[remaining[$0]].score < assessments[remaining[$1]].score }
            guard let position = smallest else { return nil }
            let index = remaining[position]
            if capable(index) {
                fastest = assessments[index].score
                break
            }
            remaining.swapAt(position, remaining.count - 1)
            remaining.removeLast()
        }
        var target = fastest
        var holdersOnly = false
        let affinityLimit = fastest + slack + tolerance(fastest)
        for index in remaining where assessments[index].holdsCheckpoint && assessments[index].score <= affinityLimit {
            guard !holdersOnly || assessments[index].score < target, capable(index) else { continue }
            holdersOnly = true
            target = assessments[index].score
        }
        var chosen: Int?
        let tieLimit = target + tolerance(target)
        for index in remaining where assessments[index].score <= tieLimit {
            guard !holdersOnly || assessments[index].holdsCheckpoint, capable(index) else { continue }
            if let current = chosen, !isPreferred(index, over: current, nodes, assessments) { continue }
            chosen = index
        }
        return chosen
    }

    static func isPreferred(_ a: Int, over b: Int, _ nodes: [NodeSnapshot], _ assessments: [Assessment]) -> Bool {
        if assessments[a].holdsCheckpoint != assessments[b].holdsCheckpoint { return assessments[a].holdsCheckpoint }
        let speedA = nonNegative(nodes[a].speed)
        let speedB = nonNegative(nodes[b].speed)
        if speedA != speedB { return speedA > speedB }
        if nodes[a].name != nodes[b].name { return nodes[a].name < nodes[b].name }
        return a < b
    }

    /// Scores this close count as equal, so sums computed in a different order do not decide.
    static func tolerance(_ seconds: Double) -> Double { 1e-9 * max(1, abs(seconds)) }
}
