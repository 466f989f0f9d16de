import ConductorCore

/// P7: what checkpoint affinity gains on P6's fleet, and that it costs nothing when swaps are free.
public struct P7Affinity: Sendable {
    public var quality: P6Quality

    public init(jobs: Int = 4_000, seeds: Int = 3, trace: Trace? = nil, maxOutstanding: Int = 2) {
        quality = P6Quality(jobs: jobs, seeds: seeds, trace: trace)
        quality.fleet.maxOutstanding = maxOutstanding
        quality.swapFactors = [0, 0.5, 1, 2, 5]
        quality.policies = [.conductor(.recommended), .conductorAffinityOff(.recommended)]
    }

    public func run() -> BenchReport {
        let outcome = quality.simulate()
        let on = DispatchPolicy.conductor(.recommended)
        let off = DispatchPolicy.conductorAffinityOff(.recommended)
        var report = BenchReport(scenario: "p7", title: "Affinity gain without regressions (P6 fleet)")
        var table = Table(
            "Conductor (.recommended knobs) with affinity on vs off (scheduler told no checkpoints); completion seconds:",
            headers: [
                "swap × mean job", "mean on", "mean off", "mean gain", "p99 on", "p99 off", "p99 gain", "swaps/job on",
                "swaps/job off"
            ])
        var waits = Table(
            "Affinity on: p99 wait before start per checkpoint (most popular first), and jobs sent to a slower node while a faster idle node held their checkpoint:",
            headers: ["swap × mean job"] + (outcome.cells.first?.p99Wait.map(\.checkpoint) ?? []) + ["rarest ÷ most popular", "slower-node choices"])
        for factor in quality.swapFactors {
            guard let a = outcome.cell(on, factor), let b = outcome.cell(off, factor) else { continue }
            let meanGain = 1 - a.completion.mean / b.completion.mean
            let p99Gain = 1 - a.completion.p99 / b.completion.p99
            table.rows.append([
                .number(factor, digits: 1), .number(a.completion.mean, digits: 2), .number(b.completion.mean, digits: 2),
                .text(signedPercent(meanGain)), .number(a.completion.p99, digits: 1), .number(b.completion.p99, digits: 1),
                .text(signedPercent(p99Gain)), .number(a.swapsPerJob, digits: 3), .number(b.swapsPerJob, digits: 3)
            ])
            let popular = a.p99Wait.first?.seconds ?? 0
            let rare = a.p99Wait.last?.seconds ?? 0
            let spread = popular > 0 ? rare / popular : (rare > 0 ? Double.infinity : 1)
            waits.rows.append(
                [.number(factor, digits: 1)] + a.p99Wait.map { .number($0.seconds, digits: 1) }
                    + [.ratio(spread), .number(Double(a.slowerNodeChoices), digits: 0)])
            if factor >= 1 {
                report.check(
                    "swap = \(fixed(factor, 1))×: mean and p99 ≥ 30 % below affinity off", meanGain >= 0.3 && p99Gain >= 0.3,
                    "mean \(signedPercent(meanGain)), p99 \(signedPercent(p99Gain))")
            } else if factor == 0 {
                report.check("swap = 0: mean within 3 % of affinity off", abs(meanGain) <= 0.03, "mean \(signedPercent(meanGain))")
            }
            report.check(
                "swap = \(fixed(factor, 1))×: rarest checkpoint's p99 wait ≤ 2× the most popular's", spread <= 2,
                "\(fixed(rare, 1)) s vs \(fixed(popular, 1)) s")
            report.check(
                "swap = \(fixed(factor, 1))×: no job sent to a slower node while a faster idle holder exists",
                a.slowerNodeChoices == 0, "\(a.slowerNodeChoices) over \(outcome.bounds.count) runs")
        }
        report.tables = [table, waits, fairness(&report)]
        return report
    }

    /// Fair shares (#9): one client drops `floodJobs` jobs at once into P6's traffic (swap = 0.5× the mean job). The other
    /// clients' waits for jobs arriving while the flood drains, with fair shares and with arrival order, against the
    /// same traces without the flood.
    func fairness(_ report: inout BenchReport) -> Table {
        let floodJobs = 400
        let floodAt = 1_000.0
        let window = 1_200.0
        var fleet = quality.fleet
        fleet.swapSeconds = 0.5 * P6Quality.generator.work.mean
        var waits: [String: [Double]] = [:]
        var floodDone: [String: [Double]] = [:]
        for trace in quality.traces() {
            let flood = (0..<floodJobs).map { n in
                TraceJob(id: trace.jobs.count + n, arrival: floodAt, checkpoint: trace.checkpointsByPopularity.first, work: 4, client: "flood")
            }
            let flooded = Trace(jobs: trace.jobs + flood)
            for (label, input, fair) in [("no flood", trace, true), ("flood, fair shares", flooded, true), ("flood, arrival order", flooded, false)] {
                var simulation = FleetSimulation(fleet: fleet, policy: .conductor(.recommended))
                simulation.fairShares = fair
                simulation.coldStart = quality.coldStart
                let result = simulation.run(input)
                for (index, job) in input.jobs.enumerated() where job.client != "flood" && job.arrival >= floodAt && job.arrival < floodAt + window {
                    waits[label, default: []].append(result.start[index] - job.arrival)
                }
                let floodFinishes = input.jobs.indices.filter { input.jobs[$0].client == "flood" }.map { result.finish[$0] }
                precondition(!floodFinishes.contains(where: \.isNaN), "every flood job finishes")
                if let last = floodFinishes.max() { floodDone[label, default: []].append(last - floodAt) }
            }
        }
        var table = Table(
            "Fair shares: one client submits \(floodJobs) jobs at once at t = \(Int(floodAt)) s into P6's traffic (swap 0.5×); the other clients' waits (s) for jobs arriving in the next \(Int(window)) s, all seeds:",
            headers: ["run", "others' mean wait", "others' p99 wait", "flood's last job done after (s, mean over seeds)"])
        for label in ["no flood", "flood, fair shares", "flood, arrival order"] {
            let summary = Summary(waits[label] ?? [])
            let done = floodDone[label].map { $0.reduce(0, +) / Double($0.count) }
            table.rows.append([
                .text(label), .number(summary.mean, digits: 1), .number(summary.p99, digits: 1), done.map { .number($0, digits: 0) } ?? .text("–")
            ])
        }
        let normal = Summary(waits["no flood"] ?? []).p99
        let fair = Summary(waits["flood, fair shares"] ?? []).p99
        report.check(
            "a client's \(floodJobs)-job burst does not starve the others: their p99 wait ≤ 2× without it (fair shares)",
            fair <= 2 * max(normal, 1), "\(fixed(fair, 1)) s vs \(fixed(normal, 1)) s without the burst")
        return table
    }
}
