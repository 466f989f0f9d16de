import ConductorCore
import Testing

@Suite struct SchedulerPropertyTests {
    static let classPool = ["CheckpointLoaderSimple", "KSampler", "VAEDecode", "SaveImage", "AcceptanceWork", "UNETLoader"]
    static let checkpoints = ["a.safetensors", "b.safetensors", "c.safetensors"]

    static func randomFleet(_ rng: inout SplitMix64) -> [NodeSnapshot] {
        (0..<Int.random(in: 1...12, using: &rng)).map { index in
            NodeSnapshot(
                name: "node-\(Int.random(in: 0...20, using: &rng))-\(index)",
                health: [NodeHealth.up, .up, .up, .suspect, .down].randomElement(using: &rng)!,
                draining: Int.random(in: 0..<8, using: &rng) == 0,
                outstanding: Int.random(in: 0...3, using: &rng),
                maxOutstanding: Int.random(in: 1...3, using: &rng),
                classTypes: Set(classPool.filter { _ in Int.random(in: 0..<6, using: &rng) != 0 }),
                comboValues: Bool.random(using: &rng)
                    ? ["CheckpointLoaderSimple": ["ckpt_name": Set(checkpoints.filter { _ in Bool.random(using: &rng) })]]
                    : [:],
                vramTotal: Int64.random(in: 0...4, using: &rng) << 32,
                residentCheckpoint: (checkpoints + [nil]).randomElement(using: &rng)!,
                // Small integer grids make exact ties common, so the tie-breaks are exercised too.
                speed: [0.35, 0.5, 0.7, 1, 1, 2].randomElement(using: &rng)!,
                committedSeconds: Double(Int.random(in: 0...6, using: &rng)),
                checkpointLoadSeconds: Double(Int.random(in: 0...3, using: &rng)) * 2
            )
        }
    }

    static func randomJob(_ rng: inout SplitMix64) -> JobRequirements {
        let checkpoint = (checkpoints + [nil]).randomElement(using: &rng)!
        return JobRequirements(
            classTypes: Set(classPool.prefix(4).filter { _ in Bool.random(using: &rng) }),
            choices: checkpoint.map { [.init(classType: "CheckpointLoaderSimple", input: "ckpt_name", value: $0)] } ?? [],
            checkpoint: checkpoint,
            work: Double(Int.random(in: 1...8, using: &rng)),
            vramNeeded: Bool.random(using: &rng) ? Int64.random(in: 1...3, using: &rng) << 32 : nil
        )
    }

    @Test func placeNeverPicksAnIneligibleNodeAndAlwaysPicksTheEarliestFinish() throws {
        var rng = SplitMix64(seed: 0xC0DE_C0DE)
        var placed = 0
        for _ in 0..<1_000 {
            let fleet = Self.randomFleet(&rng)
            let job = Self.randomJob(&rng)
            let placement = Scheduler.place(job, on: fleet)
            let eligible = placement.candidates.filter(\.eligible)
            #expect(eligible.isEmpty == (placement.node == nil))
            // Every node reported, in order; eligibility matches the rules.
            #expect(placement.candidates.map(\.node) == fleet.map(\.name))
            for (node, candidate) in zip(fleet, placement.candidates) {
                let capable =
                    job.classTypes.isSubset(of: node.classTypes)
                    && job.choices.allSatisfy { node.comboValues[$0.classType]?[$0.input]?.contains($0.value) ?? true }
                    && (job.vramNeeded == nil || node.vramTotal == 0 || job.vramNeeded! <= node.vramTotal)
                #expect(placement.capableNodes.contains(node.name) == capable)
                let expected = capable && node.health == .up && !node.draining && node.outstanding < node.maxOutstanding
                #expect(candidate.eligible == expected, "\(node) \(candidate)")
            }
            guard let chosen = placement.node else { continue }
            placed += 1
            let pick = try #require(placement.candidates.first { $0.node == chosen })
            #expect(pick.eligible)
            let best = eligible.compactMap(\.predictedFinishSeconds).min()!
            #expect(try #require(pick.predictedFinishSeconds) <= best + 1e-9 * max(1, best))
            // The fast path agrees, and so does any other order of the same nodes.
            #expect(Scheduler.decide(job, on: fleet).node.map { fleet[$0].name } == chosen)
            #expect(Scheduler.place(job, on: fleet.shuffled(using: &rng)).node == chosen)
        }
        // The generator must exercise both outcomes.
        #expect(placed > 200 && placed < 900)
    }

    static func randomKnobs(_ rng: inout SplitMix64) -> SchedulerKnobs {
        SchedulerKnobs(
            affinitySlackSeconds: [0, 0, 1, 3].randomElement(using: &rng)!,
            startDelayWeight: [1, 1, 2, 3].randomElement(using: &rng)!,
            evictionWeight: [0, 0, 1, 2].randomElement(using: &rng)!,
            waitForFullNodeGainSeconds: [nil, 0, 2].randomElement(using: &rng)!
        )
    }

    @Test func fastDecisionsAgreeWithExplainedPlacementsForAnyKnobs() {
        var rng = SplitMix64(seed: 0xFEED)
        var held = 0
        for _ in 0..<1_000 {
            let fleet = Self.randomFleet(&rng)
            let job = Self.randomJob(&rng)
            let knobs = Self.randomKnobs(&rng)
            let placement = Scheduler.place(job, on: fleet, knobs: knobs)
            let decision = Scheduler.decide(job, on: fleet, knobs: knobs)
            #expect(decision.node.map { fleet[$0].name } == placement.node)
            #expect(decision.waitingFor.map { fleet[$0].name } == placement.waitingFor)
            if placement.waitingFor != nil { held += 1 }
            if let chosen = placement.node {
                #expect(placement.candidates.first { $0.node == chosen }?.eligible == true)
            }
            if let waitingFor = placement.waitingFor {
                #expect(placement.candidates.first { $0.node == waitingFor }?.reason.hasPrefix("full") == true)
            }
        }
        #expect(held > 20)
    }

    @Test func aDispatchRoundMatchesPlacingTheQueueOneJobAtATime() {
        var rng = SplitMix64(seed: 0xD15_9A7C)
        for _ in 0..<300 {
            let original = Self.randomFleet(&rng)
            var fleet = original
            let queue = (0..<Int.random(in: 1...8, using: &rng)).map { _ in Self.randomJob(&rng) }
            let knobs = Self.randomKnobs(&rng)
            let assignments = Scheduler.assign(queue, to: fleet, knobs: knobs)
            var expected: [Scheduler.Assignment] = []
            for (position, job) in queue.enumerated() {
                guard fleet.contains(where: { $0.health == .up && !$0.draining && $0.outstanding < $0.maxOutstanding })
                else { break }
                let behind = Scheduler.waitingBehind(position, in: queue, nodes: fleet.count)
                let placement = Scheduler.place(job, on: fleet, knobs: knobs, waitingBehind: behind)
                if let name = placement.node, let index = fleet.firstIndex(where: { $0.name == name }) {
                    expected.append(.init(job: position, node: index))
                    fleet[index] = fleet[index].committing(job)
                } else if let name = placement.waitingFor, let index = fleet.firstIndex(where: { $0.name == name }) {
                    let outstanding = fleet[index].outstanding
                    fleet[index] = fleet[index].committing(job)
                    fleet[index].outstanding = outstanding
                }
            }
            #expect(assignments == expected)
            // Explained, the round makes the same choices, and each record names the node the job went to.
            let explained = Scheduler.assign(queue, to: original, knobs: knobs, explain: true)
            #expect(explained.map { Scheduler.Assignment(job: $0.job, node: $0.node) } == expected)
            for assignment in explained {
                #expect(assignment.placement?.node == original[assignment.node].name)
                #expect(assignment.placement?.candidates[assignment.node].eligible == true)
            }
        }
    }
}
