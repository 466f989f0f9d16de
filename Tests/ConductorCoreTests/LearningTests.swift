import ComfyWire
import ConductorCore
import Testing

/// What a finished run teaches (`FleetDispatcher.learn`): history entries in, estimates out.
@Suite struct LearningTests {
    static func run(seconds: Double, status: String = "success", cached: [String] = []) -> HistoryEntry {
        var messages = [StatusMessage(event: "execution_start", data: ["timestamp": .int(1_000_000)])]
        if !cached.isEmpty { messages.append(StatusMessage(event: "execution_cached", data: ["nodes": .array(cached.map(JSONValue.string))])) }
        messages.append(
            StatusMessage(
                event: status == "success" ? "execution_success" : "execution_error",
                data: ["timestamp": .int(1_000_000 + Int(seconds * 1000))]))
        return HistoryEntry(
            prompt: QueueItem(number: JSONNumber(1), promptID: "p", prompt: [:], extraData: [:], outputsToExecute: []),
            status: HistoryStatus(statusStr: status, completed: status == "success", messages: messages))
    }

    static func job(work: Double = 20, checkpoint: String? = "x", samplers: [String] = ["3"]) -> JobRequirements {
        var job = JobRequirements(checkpoint: checkpoint, work: work, shape: "x|KSampler")
        job.samplerNodes = samplers
        return job
    }

    static func node(loaded: String? = "x") -> FleetDispatcher.NodeLearning {
        .init(speed: SpeedEstimate(declared: 1), loadSeconds: LoadTimeEstimate(declared: 5), loadedCheckpoint: loaded)
    }

    @Test func aShapesFirstJobSetsItsFactorAndTheNextOneTheNodesSpeed() {
        var dispatcher = FleetDispatcher(knobs: .recommended)
        var node = Self.node()
        // 20 units in 40 s at an assumed 1 unit/s: the shape takes twice its work; the node's speed is not touched.
        dispatcher.learn(from: Self.run(seconds: 40), of: Self.job(), on: &node, assumedSpeed: 1)
        #expect(dispatcher.runTimes.factor(of: "x|KSampler") == 2)
        #expect(node.speed.samples == 0)
        // The same shape in 20 s: the node is measured against it (twice as fast as assumed).
        dispatcher.learn(from: Self.run(seconds: 20), of: Self.job(), on: &node, assumedSpeed: 1)
        #expect(node.speed.samples == 1)
        #expect(node.speed.unitsPerSecond > 1)
    }

    @Test func runsThatDidNoRealWorkTeachNothing() {
        var dispatcher = FleetDispatcher(knobs: .recommended)
        var node = Self.node()
        dispatcher.learn(from: Self.run(seconds: 40, cached: ["3"]), of: Self.job(), on: &node, assumedSpeed: 1)
        dispatcher.learn(from: Self.run(seconds: 0.01), of: Self.job(), on: &node, assumedSpeed: 1)
        dispatcher.learn(from: Self.run(seconds: 40, status: "error"), of: Self.job(), on: &node, assumedSpeed: 1)
        #expect(dispatcher.runTimes.samples(of: "x|KSampler") == 0)
        #expect(node.speed.samples == 0)
        // A workflow without a sampler teaches its shape, never the node's speed.
        dispatcher.learn(from: Self.run(seconds: 30), of: Self.job(samplers: []), on: &node, assumedSpeed: 1)
        dispatcher.learn(from: Self.run(seconds: 30), of: Self.job(samplers: []), on: &node, assumedSpeed: 1)
        #expect(dispatcher.runTimes.samples(of: "x|KSampler") == 2)
        #expect(node.speed.samples == 0)
    }

    @Test func aJobThatLoadedItsCheckpointTeachesTheLoadTimeAndLeavesTheCheckpointResident() {
        var dispatcher = FleetDispatcher(knobs: .recommended)
        var node = Self.node(loaded: "x")
        dispatcher.learn(from: Self.run(seconds: 20), of: Self.job(), on: &node, assumedSpeed: 1)  // the shape: factor 1
        var swapped = Self.job(checkpoint: "y")
        swapped.shape = "x|KSampler"
        // 20 units of known shape at 1 unit/s take 20 s: the other 12 s were the load.
        dispatcher.learn(from: Self.run(seconds: 32), of: swapped, on: &node, assumedSpeed: 1)
        #expect(node.loadSeconds.samples == 1)
        #expect(abs(node.loadSeconds.seconds - (0.3 * 12 + 0.7 * 5)) < 1e-9)
        #expect(node.speed.samples == 0)
        #expect(node.loadedCheckpoint == "y")
    }

    @Test func aNodeNobodyMeasuredRunsAtTheFleetsTypicalRatio() {
        var measured = SpeedEstimate(declared: 1)
        measured.record(work: 20, seconds: 10)  // declared 1, measured 2: ratio 2
        let speeds = FleetDispatcher.effectiveSpeeds([("a", measured, 1), ("b", SpeedEstimate(declared: 3), 3)])
        #expect(speeds["a"] == measured.unitsPerSecond)
        #expect(speeds["b"] == measured.unitsPerSecond / 1 * 3)
        // With nothing measured, the declared speeds.
        #expect(FleetDispatcher.effectiveSpeeds([("b", SpeedEstimate(declared: 3), 3)]) == ["b": 3])
    }
}
