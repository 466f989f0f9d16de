/// Draws `submit --wait`: on a terminal, a live block of progress bars redrawn in place under the
/// lines already printed; elsewhere, plain lines (a node's progress at each quarter) with no
/// control characters.
public struct JobDisplay {
    let output: Output
    /// Lines of the live block now on screen (terminal only).
    private var drawn = 0
    private var live: [String] = []
    /// Plain mode: the last quarter printed per prompt and node, and which prompts were announced running.
    private var quarters: [String: Int] = [:]
    private var announced: Set<String> = []
    /// The most jobs the live block shows, so it never outgrows the screen.
    static let maxLiveJobs = 6

    public init(output: Output) { self.output = output }

    /// Prints lines that stay (saved files, results) above the live block.
    public mutating func note(_ lines: [String]) {
        guard !lines.isEmpty else { return }
        if output.isTerminal {
            eraseLive()
            output.lines(lines.map { TextWidth.truncate($0, to: max(20, (output.width ?? 80) - 1)) })
            drawLive()
        } else {
            output.lines(lines)
        }
    }

    /// Shows the tracker's current state: redraws the live block, or prints what crossed a milestone.
    public mutating func refresh(_ tracker: JobTracker) {
        if output.isTerminal {
            eraseLive()
            live = liveLines(tracker)
            drawLive()
            return
        }
        var lines: [String] = []
        for job in tracker.jobs where !job.state.isFinal {
            if job.state == .running, !announced.contains(job.promptID) {
                announced.insert(job.promptID)
                lines.append("\(job.shortName)  running")
            }
            for bar in job.bars {
                let key = job.promptID + "\u{0}" + bar.nodeID
                let quarter = bar.max > 0 ? Int((bar.value / bar.max * 4).rounded(.down)) : 0
                if quarter > (quarters[key] ?? 0) {
                    quarters[key] = quarter
                    lines.append(
                        "\(job.shortName)  \(bar.label)  \(ProgressBar.percent(value: bar.value, max: bar.max))  "
                            + "\(ProgressBar.count(bar.value))/\(ProgressBar.count(bar.max))")
                }
            }
        }
        output.lines(lines)
    }

    /// Prints how a prompt ended (its final bars first on a terminal) and takes it out of the live block.
    public mutating func finished(_ job: JobTracker.Job, tracker: JobTracker) {
        var lines: [String] = []
        if output.isTerminal {
            lines += job.bars.map { "  " + barLine(job, $0) }
        } else {
            for bar in job.bars where bar.max > 0 && (quarters[job.promptID + "\u{0}" + bar.nodeID] ?? 0) < 4 && bar.value >= bar.max {
                lines.append("\(job.shortName)  \(bar.label)  100%  \(ProgressBar.count(bar.max))/\(ProgressBar.count(bar.max))")
            }
        }
        lines.append(Self.result(job))
        if output.isTerminal {
            eraseLive()
            live = liveLines(tracker)
            output.lines(lines.map { TextWidth.truncate($0, to: max(20, (output.width ?? 80) - 1)) })
            drawLive()
        } else {
            output.lines(lines)
        }
    }

    /// `✓ 3f2a1b2c done in 1.2s`, `✗ 3f2a1b2c failed at node 3 (KSampler): …`.
    public static func result(_ job: JobTracker.Job) -> String {
        let time = job.seconds.map { " in " + Durations.text(seconds: $0) } ?? ""
        switch job.state {
        case .succeeded: return "✓ \(job.shortName) done\(time)"
        case .failed(let reason): return "✗ \(job.shortName) failed\(time) at \(reason)"
        case .interrupted(let node): return "✗ \(job.shortName) interrupted at \(node)"
        case .queued, .running: return "… \(job.shortName) still running"
        }
    }

    func liveLines(_ tracker: JobTracker) -> [String] {
        let open = tracker.jobs.filter { !$0.state.isFinal }
        var lines: [String] = []
        for job in open.prefix(Self.maxLiveJobs) {
            var head = "\(job.shortName)  "
            switch job.state {
            case .queued: head += "queued"
            default: head += "running" + (job.currentNode.map { ": node \(tracker.workflow.label(of: $0))" } ?? "")
            }
            lines.append(head)
            lines += job.bars.map { "  " + barLine(job, $0) }
        }
        if open.count > Self.maxLiveJobs { lines.append("… and \(open.count - Self.maxLiveJobs) more") }
        return lines
    }

    func barLine(_ job: JobTracker.Job, _ bar: JobTracker.Bar) -> String {
        let width = output.width ?? 80
        let label = TextWidth.truncate(bar.label, to: max(8, width / 3))
        let cells = max(10, min(40, width - TextWidth.of(label) - 24))
        return "\(label)  " + ProgressBar.render(value: bar.value, max: bar.max, cells: cells)
    }

    private mutating func eraseLive() {
        guard drawn > 0 else { return }
        output.write("\u{1B}[\(drawn)A\r\u{1B}[J")
        drawn = 0
    }

    private mutating func drawLive() {
        guard !live.isEmpty else { return }
        let width = max(20, (output.width ?? 80) - 1)
        output.lines(live.map { TextWidth.truncate($0, to: width) })
        drawn = live.count
    }
}
