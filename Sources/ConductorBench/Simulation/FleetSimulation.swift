import ComfyWire
import ConductorCore

/// A discrete-event simulation of a fleet on a virtual clock: jobs arrive from a trace, nodes run them one at a
/// time at their speed (plus a swap when the checkpoint changes), and a policy places them.
///
/// Under `.conductor` the coordinator's own `FleetStateMachine` decides: each arrival is a submit, each job sent to a
/// virtual node is accepted there, its start and end are the node's messages and its history entry (timestamps on the
/// virtual clock), and every event runs one dispatch round. So the figures are the product's decisions (fair shares,
/// checkpoint plan, retry budget, learned speeds and load times, the scheduler), not a copy of them.
public struct FleetSimulation {
    public var fleet: SimulatedFleet
    public var policy: DispatchPolicy
    /// Seed of the policy's own randomness (random and power-of-two); the trace has its own.
    public var seed: UInt64
    /// Share of the earliest jobs left out of the statistics (the fleet starts empty); 0 keeps them all.
    public var warmupFraction: Double
    /// Conductor's policies offer waiting jobs in fair-share order across the trace's clients (as the coordinator
    /// does); false offers them in arrival order, to measure what fair shares change.
    public var fairShares = true
    /// Under Conductor's policies, whether the coordinator starts as one that just started: every node's speed assumed
    /// from cluster.json until its own jobs measure it. False (the default) starts warm: the speeds taken as measured,
    /// as after a warm-up, which is what the scheduling figures (P6, P7) compare.
    public var coldStart = false

    public init(fleet: SimulatedFleet, policy: DispatchPolicy, seed: UInt64 = 1, warmupFraction: Double = 0) {
        self.fleet = fleet
        self.policy = policy
        self.seed = seed
        self.warmupFraction = warmupFraction
    }

    /// Runs the whole trace to completion.
    public func run(_ trace: Trace) -> SimulationResult {
        var state = State(fleet: fleet, policy: policy, trace: trace, seed: seed, coldStart: coldStart)
        state.fairShares = fairShares
        state.run()
        let jobs = trace.jobs
        let first = min(jobs.count, Int((warmupFraction * Double(jobs.count)).rounded(.down)))
        let measured = first..<jobs.count
        var waits: [String: [Double]] = [:]
        for index in measured {
            waits[jobs[index].checkpoint ?? "none", default: []].append(state.start[index] - jobs[index].arrival)
        }
        return SimulationResult(
            completions: state.completions, start: state.start, finish: state.finish, node: state.node, sent: state.sent,
            swaps: state.swaps,
            slowerNodeChoices: state.slowerNodeChoices,
            completion: Summary(measured.map { state.finish[$0] - jobs[$0].arrival }),
            p99WaitByCheckpoint: waits.mapValues { Summary($0).p99 }, jobs: jobs.count)
    }
}

extension FleetSimulation {
    /// The mutable world of one run.
    struct State {
        let fleet: SimulatedFleet
        let policy: DispatchPolicy
        let jobs: [TraceJob]
        /// What the scheduler is told about each job (no checkpoint when affinity is off).
        let requirements: [JobRequirements]
        var nodes: [VirtualNode]
        var random: SplitMix64
        var now = 0.0
        /// Fleet queue (job indices in arrival order) of the P6 reference policy.
        var waiting: [Int] = []
        /// The coordinator's state machine (Conductor's policies).
        var machine: FleetStateMachine
        var fairShares = true
        var nextRoundRobin = 0
        var completions: [Int]
        var start: [Double]
        var finish: [Double]
        var node: [Int]
        var sent: [Double]
        var swaps = 0
        var slowerNodeChoices = 0
        /// History entries of jobs ending now, for the state machine's history reads.
        var history: [String: HistoryEntry] = [:]

        init(fleet: SimulatedFleet, policy: DispatchPolicy, trace: Trace, seed: UInt64, coldStart: Bool) {
            self.fleet = fleet
            self.policy = policy
            jobs = trace.jobs
            let agnostic = if case .conductorAffinityOff = policy { true } else { false }
            // One workflow shape with one sampler, as a trace of txt2img jobs is: the coordinator learns what it takes,
            // and each node's speed, from the runs' timestamps.
            requirements = trace.jobs.map { job in
                var requirements = JobRequirements(checkpoint: agnostic ? nil : job.checkpoint, work: job.work, shape: "trace")
                requirements.samplerNodes = ["3"]
                return requirements
            }
            nodes = fleet.speeds.map(VirtualNode.init(speed:))
            random = SplitMix64(seed: seed &* 0x2545_F491_4F6C_DD1D &+ 1)
            completions = Array(repeating: 0, count: trace.jobs.count)
            var config = ClusterConfig(
                nodes: fleet.speeds.indices.map {
                    ClusterConfig.Node(
                        name: Self.name(of: $0), url: "http://node-\($0)", maxOutstanding: fleet.maxOutstanding, speed: fleet.speeds[$0])
                })
            config.checkpointLoadSeconds = agnostic ? 0 : fleet.swapSeconds
            switch policy {
            case .conductor(let knobs), .conductorAffinityOff(let knobs): config.scheduler = knobs
            default: break
            }
            machine = FleetStateMachine(config: config, instanceID: "simulation")
            machine.explains = false
            for index in fleet.speeds.indices {
                let name = Self.name(of: index)
                _ = machine.handle(.health(node: name, .up), at: .init(seconds: 0, epochMilliseconds: 0))
                _ = machine.handle(.webSocket(node: name, connected: true), at: .init(seconds: 0, epochMilliseconds: 0))
                if !coldStart { machine.assumeMeasured(speed: fleet.speeds[index], of: name) }
            }
            start = Array(repeating: .nan, count: trace.jobs.count)
            finish = Array(repeating: .nan, count: trace.jobs.count)
            node = Array(repeating: -1, count: trace.jobs.count)
            sent = Array(repeating: .nan, count: trace.jobs.count)
        }

        mutating func run() {
            var next = 0
            var done = 0
            if policy.isConductor { applyOutages() }
            while done < jobs.count {
                var soonest: Int?
                for index in nodes.indices where nodes[index].running {
                    if soonest.map({ nodes[index].finish < nodes[$0].finish }) ?? true { soonest = index }
                }
                let arrival = next < jobs.count ? jobs[next].arrival : .infinity
                let change = fleet.outages.flatMap { [$0.from, $0.until] }.filter { $0 > now }.min() ?? .infinity
                if change < arrival, change < (soonest.map { nodes[$0].finish } ?? .infinity) {
                    now = change  // a node joins or leaves: nothing else happens, but the dispatcher looks again
                    if policy.isConductor { applyOutages() }
                } else if let node = soonest, nodes[node].finish <= arrival {
                    now = nodes[node].finish
                    let job = nodes[node].removeFirst()
                    nodes[node].running = false
                    nodes[node].lastFinished = jobs[job].checkpoint ?? nodes[node].lastFinished
                    nodes[node].finish = .infinity
                    completions[job] += 1
                    finish[job] = now
                    done += 1
                    if !policy.bindsAtArrival, policy.isConductor { ended(job, on: node) }
                    startIfIdle(node)
                } else if next < jobs.count {
                    now = arrival
                    arrive(next)
                    next += 1
                } else {
                    break  // nothing runs and nothing arrives: jobs are stuck (a policy bug); stop, not loop
                }
                if !policy.bindsAtArrival { dispatch() }
            }
        }

        /// Whether a node takes new work now (see `SimulatedFleet.outages`).
        func isUp(_ node: Int) -> Bool {
            !fleet.outages.contains { $0.node == node && $0.from <= now && now < $0.until }
        }

        mutating func arrive(_ job: Int) {
            // Policies that bind at arrival choose among the nodes that take work (all of them without outages).
            let up = fleet.outages.isEmpty ? Array(nodes.indices) : nodes.indices.filter(isUp)
            switch policy {
            case .random:
                send(job, to: up[Int(random.next() % UInt64(up.count))])
            case .powerOfTwo:
                let a = Int(random.next() % UInt64(up.count))
                var b = Int(random.next() % UInt64(max(1, up.count - 1)))
                if up.count > 1 && b >= a { b += 1 }
                send(job, to: nodes[up[b]].count < nodes[up[a]].count ? up[b] : up[a])
            case .shortestQueue:
                var best = up[0]
                for index in up where nodes[index].count < nodes[best].count { best = index }
                send(job, to: best)
            case .roundRobin:
                send(job, to: up[nextRoundRobin % up.count])
                nextRoundRobin += 1
            case .reference:
                waiting.append(job)
            case .conductor, .conductorAffinityOff:
                // Without fair shares every job is one client's: the shares then keep arrival order.
                let submitted = Job(
                    id: "\(job)", sequence: Int64(job), number: JSONNumber(Double(job)),
                    clientID: fairShares ? jobs[job].client : nil, principal: nil, prompt: [:], extraData: [:],
                    outputsToExecute: [], state: .queued, node: nil, placement: nil, createdAt: 0)
                handle(.submitted(submitted, requirements[job], principal: nil))
            }
        }

        /// Binds a job to a node and starts it if the node is idle.
        mutating func send(_ job: Int, to node: Int) {
            if let checkpoint = jobs[job].checkpoint {
                let speed = nodes[node].speed
                if nodes.indices.contains(where: {
                    nodes[$0].isIdle && nodes[$0].resident == checkpoint && nodes[$0].speed > speed && isUp($0)
                }) {
                    slowerNodeChoices += 1
                }
            }
            nodes[node].append(job)
            self.node[job] = node
            sent[job] = now
            startIfIdle(node)
        }

        mutating func startIfIdle(_ node: Int) {
            guard !nodes[node].running, let job = nodes[node].first else { return }
            let checkpoint = jobs[job].checkpoint
            var load = 0.0
            if let checkpoint, nodes[node].resident != checkpoint {
                load = fleet.swapSeconds
                if nodes[node].resident != nil { swaps += 1 }
                nodes[node].resident = checkpoint
            }
            if fleet.loraSeconds > 0, nodes[node].lora != jobs[job].lora {
                load += fleet.loraSeconds
                nodes[node].lora = jobs[job].lora
            }
            nodes[node].running = true
            nodes[node].finish = now + load + jobs[job].work / nodes[node].speed
            start[job] = now
            if policy.isConductor { handle(.message(node: Self.name(of: node), .executionStart(promptID: "\(job)", timestamp: milliseconds))) }
        }

        mutating func dispatch() {
            switch policy {
            case .reference: if !waiting.isEmpty { dispatchReference() }
            case .conductor, .conductorAffinityOff: dispatchConductor()
            default: break
            }
        }

        static func name(of node: Int) -> String { "node-\(node)" }

        /// A node out of the fleet now is drained: it finishes what it holds and takes nothing new.
        mutating func applyOutages() {
            for index in nodes.indices { handle(.drain(node: Self.name(of: index), !isUp(index))) }
        }

        var moment: FleetStateMachine.Moment { .init(seconds: now, epochMilliseconds: milliseconds) }
        /// The virtual clock as node timestamps count it.
        var milliseconds: Int64 { Int64((now * 1000).rounded()) }

        /// One event for the coordinator's state machine; the nodes' answers it asks for (a history entry, the store's
        /// commit) come back at once.
        mutating func handle(_ event: FleetStateMachine.Event) {
            var pending = machine.handle(event, at: moment)
            while !pending.isEmpty {
                let action = pending.removeFirst()
                switch action {
                case .readHistory(let id, let node, let requeueIfUnknown):
                    pending += machine.handle(.historyRead(job: id, node: node, history[id], requeueIfUnknown: requeueIfUnknown), at: moment)
                case .commit(let id, let node, _):
                    pending += machine.handle(.committed(job: id, node: node, ok: true), at: moment)
                default:
                    continue
                }
            }
        }

        /// One round of the coordinator's state machine; each job it sends goes to its virtual node, which accepts it.
        mutating func dispatchConductor() {
            guard let actions = machine.dispatch(at: moment) else { return }
            for case .send(let id, let name) in actions {
                guard let job = Int(id), let node = Int(name.dropFirst("node-".count)) else { continue }
                handle(.posted(job: id, node: name, .accepted))
                send(job, to: node)
            }
        }

        /// A job ended on its node: its history entry (what the node's `/history` would say), then the node's messages.
        mutating func ended(_ job: Int, on node: Int) {
            let id = "\(job)", name = Self.name(of: node)
            history[id] = HistoryEntry(
                prompt: QueueItem(number: JSONNumber(Double(job)), promptID: id, prompt: [:], extraData: [:], outputsToExecute: []),
                status: HistoryStatus(
                    statusStr: "success", completed: true,
                    messages: [
                        StatusMessage(
                            event: "execution_start",
                            data: ["prompt_id": .string(id), "timestamp": .number(JSONNumber(Self.milliseconds(start[job])))]),
                        StatusMessage(event: "execution_success", data: ["prompt_id": .string(id), "timestamp": .number(JSONNumber(milliseconds))])
                    ]))
            handle(.message(node: name, .executionSuccess(promptID: id, timestamp: milliseconds)))
            handle(.message(node: name, .executing(node: nil, displayNode: nil, promptID: id)))
            history[id] = nil
        }

        static func milliseconds(_ seconds: Double) -> Int64 { Int64((seconds * 1000).rounded()) }

        /// P6's reference policy: only idle nodes pull work.
        mutating func dispatchReference() {
            for node in nodes.indices where nodes[node].isIdle && !waiting.isEmpty && isUp(node) {
                let resident = nodes[node].resident
                if let position = waiting.firstIndex(where: { jobs[$0].checkpoint == resident }) {
                    send(waiting.remove(at: position), to: node)
                    continue
                }
                var queuedWork: [String: Double] = [:]
                for job in waiting { queuedWork[jobs[job].checkpoint ?? "", default: 0] += jobs[job].work }
                var best: (checkpoint: String, score: Double)?
                for (checkpoint, work) in queuedWork.sorted(by: { $0.key < $1.key }) {
                    let holders = nodes.filter { ($0.resident ?? "") == checkpoint }.reduce(0) { $0 + $1.speed }
                    let score = work / max(holders, nodes[node].speed)
                    if best.map({ score > $0.score }) ?? true { best = (checkpoint, score) }
                }
                guard let best, resident == nil || best.score > fleet.swapSeconds else { continue }
                let position = waiting.firstIndex { (jobs[$0].checkpoint ?? "") == best.checkpoint }!
                send(waiting.remove(at: position), to: node)
            }
        }
    }
}
