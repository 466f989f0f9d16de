import AsyncHTTPClient
import ComfyWire
import ConductorBench
import ConductorCore
import Foundation
import NIOCore
import NIOHTTP1

/// The check that the discrete-event simulation predicts reality: one trace, simulated with the real scheduler on a
/// virtual clock, and run for real — simulated nodes in their own processes in scaled time, Conductor in its own, over
/// HTTP — then compared on mean completion time.
extension LiveBench {
    public func endToEnd(
        jobs count: Int = 60, timeScale: Double = 0.1, swapSeconds: Double = 4, seed: UInt64 = 1, maxOutstanding: Int = 2,
        declaredSpeedFactor: Double = 1, stepCosts: [Double] = [1, 1, 1]
    ) async throws -> BenchReport {
        let speeds = [1.0, 1.0, 0.5, 0.5]
        let generator = TraceGenerator(arrivalRate: 0.7 * speeds.reduce(0, +) / 4, work: .uniform(low: 2, high: 6), checkpoints: 3, clients: 4)
        // Whole work units on the nodes (one 512×512 step each: few steps, so per-step overheads stay small), plus the
        // node's VAE decode (0.05 units).
        // With step costs, a checkpoint's steps take that many times longer on the nodes than Conductor's estimate
        // (steps × pixels) says: the trace carries the true work, the prompts only the steps.
        let decode = 0.05
        let costs = (0..<3).map { $0 < stepCosts.count ? stepCosts[$0] : 1 }
        let costOf = Dictionary(uniqueKeysWithValues: costs.enumerated().map { (TraceGenerator.checkpointName($0.offset), $0.element) })
        let cost = { (checkpoint: String?) in costOf[checkpoint ?? TraceGenerator.checkpointName(0)] ?? 1 }
        let generated = generator.trace(jobs: count, seed: seed).jobs
        let steps = generated.map { max(1, $0.work.rounded()) }
        let trace = Trace(
            jobs: zip(generated, steps).map { job, steps in
                var job = job
                job.work = steps * cost(job.checkpoint) + decode
                return job
            })
        let fleet = SimulatedFleet(speeds: speeds, swapSeconds: swapSeconds, maxOutstanding: maxOutstanding)
        // The real Conductor starts with cluster.json's speeds, unmeasured: so does the simulated one.
        var simulation = FleetSimulation(fleet: fleet, policy: .conductor(.recommended), seed: seed)
        simulation.coldStart = true
        let predicted = simulation.run(trace)
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let http = Self.client()
        let load = LoadGenerator(http: http)
        var processes: [LiveProcess] = []
        defer { for process in processes { process.stop() } }
        var nodes: [JSONValue] = []
        let size: Int64 = 6_000_000_000
        for (index, speed) in speeds.enumerated() {
            let name = "node-\(index + 1)"
            let profile: JSONValue = [
                "name": .string(name), "speed": .double(speed), "timeScale": .double(timeScale), "previews": false,
                // One checkpoint fits in VRAM at a time; loading one takes `swapSeconds`.
                "vramTotalBytes": 10_000_000_000, "vramReservedBytes": 500_000_000, "loadBytesPerSecond": .double(Double(size) / swapSeconds),
                "checkpoints": .array(
                    (0..<3).map {
                        [
                            "name": .string(TraceGenerator.checkpointName($0)), "sizeBytes": .number(JSONNumber(size)),
                            "stepCost": .double(costs[$0])
                        ]
                    })
            ]
            let file = directory.appendingPathComponent("\(name).json")
            try Data(profile.serialized(.compact)).write(to: file)
            let process = try LiveProcess(
                executable,
                [
                    "sim-node", "--port", "0", "--profile", file.path,
                    "--data-dir", directory.appendingPathComponent(name).path
                ])
            processes.append(process)
            let port = try await process.port(after: "listening on http://127.0.0.1:")
            // Conductor sees real time: at time scale T a node does speed ÷ T units per real second. With a declared
            // speed factor f ≠ 1, cluster.json is wrong on purpose (odd nodes declared f× too fast, even ones f× too
            // slow), for Conductor to learn the real speeds from the jobs.
            let declared = nodes.count.isMultiple(of: 2) ? speed * declaredSpeedFactor : speed / declaredSpeedFactor
            nodes.append([
                "name": .string(name), "url": .string("http://127.0.0.1:\(port)"), "speed": .double(declared / timeScale),
                "maxOutstanding": .int(maxOutstanding)
            ])
        }
        let cluster: JSONValue = [
            "nodes": .array(nodes), "dataDirectory": .string(directory.appendingPathComponent("conductor").path),
            "listen": ["host": "127.0.0.1", "port": 0], "checkpointLoadSeconds": .double(swapSeconds * timeScale), "pollIntervalSeconds": 0.25
        ]
        let configFile = directory.appendingPathComponent("cluster.json")
        try Data(cluster.serialized(.compact)).write(to: configFile)
        let conductor = try LiveProcess(executable, ["serve", "--config", configFile.path, "--log-level", "error"])
        processes.append(conductor)
        let base = "http://127.0.0.1:\(try await conductor.port(after: "listening on http://127.0.0.1:"))"
        for _ in 0..<500 {
            let answer = try? await Self.json(base + "/conductor/api/nodes", load)
            if answer?["nodes"]?.arrayValue?.filter({ $0["health"] == "up" }).count == speeds.count { break }
            try await Task.sleep(for: .milliseconds(20))
        }

        // Each job submitted at its arrival (scaled), without waiting for earlier answers.
        let start = ContinuousClock.now + .milliseconds(100)
        let wallStart = Date().timeIntervalSince1970 + 0.1
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (job, steps) in zip(trace.jobs, steps.map { Int($0) }) {
                try await Task.sleep(until: start + .seconds(job.arrival * timeScale), clock: .continuous)
                let prompt = Self.prompt(checkpoint: job.checkpoint ?? TraceGenerator.checkpointName(0), steps: steps, size: 512, seed: job.id)
                let body: JSONValue = ["prompt": prompt, "client_id": .string(job.client), "prompt_id": .string("e2e-\(job.id)")]
                group.addTask { try await load.send(.POST, base + "/prompt", body: body.serialized(.compact)) }
            }
            try await group.waitForAll()
        }
        var history: JSONObject = [:]
        let deadline = ContinuousClock.now + .seconds(600)
        while history.count < count, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(500))
            history = (try? await Self.json(base + "/history?max_items=\(count * 2)", load))?.objectValue ?? [:]
        }
        var completions: [Double] = [], waits: [Double] = [], stretch: [Double] = []
        var runs: [String: [(Double, String)]] = [:]
        let speedOf = Dictionary(uniqueKeysWithValues: speeds.enumerated().map { ("node-\($0.offset + 1)", $0.element) })
        for job in trace.jobs {
            let entry = history["e2e-\(job.id)"]
            let messages = entry?["status"]?["messages"]?.arrayValue ?? []
            func time(_ event: String) -> Double? { messages.first(where: { $0[0] == .string(event) })?[1]?["timestamp"]?.doubleValue }
            guard let done = time("execution_success"), let began = time("execution_start") else { continue }
            let arrivalWall = wallStart + job.arrival * timeScale
            completions.append((done / 1000 - arrivalWall) / timeScale)
            waits.append((began / 1000 - arrivalWall) / timeScale)
            let node = entry?["outputs"]?.objectValue?.values.first?["images"]?[0]?["subfolder"]?.stringValue?.split(separator: "/").first.map(
                String.init)
            if let node, let speed = speedOf[node] {
                stretch.append((done - began) / 1000 / timeScale / (job.work / speed))
                runs[node, default: []].append((began, job.checkpoint ?? ""))
            }
        }
        // Learned run times (#9): what Conductor predicted, when it placed each job, for its time on the node it chose
        // (load + work at the learned speed), against the time it took there; in submission order, so the later
        // jobs show what the learning did.
        var predictionErrors: [Double] = []
        for job in trace.jobs {
            let entry = history["e2e-\(job.id)"]
            let messages = entry?["status"]?["messages"]?.arrayValue ?? []
            func time(_ event: String) -> Double? { messages.first(where: { $0[0] == .string(event) })?[1]?["timestamp"]?.doubleValue }
            guard let done = time("execution_success"), let began = time("execution_start"), done > began,
                let placement = try? await Self.json(base + "/conductor/api/jobs/e2e-\(job.id)", load)["placement"],
                let chosen = placement["node"]?.stringValue,
                let predicted = placement["candidates"]?.arrayValue?.first(where: { $0["node"]?.stringValue == chosen })?["predictedRunSeconds"]?
                    .doubleValue
            else { continue }
            predictionErrors.append(predicted / ((done - began) / 1000) - 1)
        }
        // Swaps as the simulation counts them: a load that replaces another checkpoint on the node.
        let realSwaps = runs.values.reduce(0) { total, list in
            let order = list.sorted { $0.0 < $1.0 }.map(\.1)
            return total + zip(order, order.dropFirst()).filter { $0 != $1 }.count
        }
        try await http.shutdown()

        let real = Summary(completions)
        // The nodes' real speed, measured: a job's time on its node over its work at the declared speed (the median,
        // which the jobs that loaded a checkpoint do not move). The simulation is run again with it.
        let measuredStretch = Summary(stretch).median
        let calibratedTrace = Trace(
            jobs: trace.jobs.map { job in
                var job = job
                job.work *= measuredStretch
                return job
            })
        let calibrated = simulation.run(calibratedTrace)
        var report = BenchReport(scenario: "e2e", title: "The simulation against a real run of the same trace")
        var table = Table(
            "\(count) jobs (seed \(seed)), nodes of speed \(speeds.map { fixed($0, 1) }.joined(separator: ", ")), 3 checkpoints\(costs == [1, 1, 1] ? "" : " (per-step cost \(costs.map { fixed($0, 1) }.joined(separator: ", ")), not told to Conductor)"), swap \(fixed(swapSeconds, 0)) s, one checkpoint in VRAM per node; completion in simulated seconds (real run at time scale \(timeScale))",
            headers: ["run", "jobs finished", "mean", "median", "p99"])
        table.rows.append([
            .text("simulation (virtual clock, real scheduler)"), .text("\(count)"), .number(predicted.completion.mean, digits: 2),
            .number(predicted.completion.median, digits: 2), .number(predicted.completion.p99, digits: 2)
        ])
        table.rows.append([
            .text("simulation with the nodes' measured speed (work × \(fixed(measuredStretch, 3)))"), .text("\(count)"),
            .number(calibrated.completion.mean, digits: 2), .number(calibrated.completion.median, digits: 2),
            .number(calibrated.completion.p99, digits: 2)
        ])
        table.rows.append([
            .text("real (Conductor + \(speeds.count) simulated nodes over HTTP/WS)"), .text("\(completions.count)"), .number(real.mean, digits: 2),
            .number(real.median, digits: 2), .number(real.p99, digits: 2)
        ])
        report.tables.append(table)
        let simulatedWaits = Summary(trace.jobs.indices.map { predicted.start[$0] - trace.jobs[$0].arrival })
        report.notes.append(
            "Where the time goes: mean wait before a job starts on its node \(fixed(Summary(waits).mean, 2)) s real vs \(fixed(simulatedWaits.mean, 2)) s simulated; a job's time on its node ÷ its work at the node's speed: median \(fixed(Summary(stretch).median, 3)), mean \(fixed(Summary(stretch).mean, 3)) (1 + the checkpoint loads it paid); swaps \(realSwaps) real vs \(predicted.swaps) simulated (\(calibrated.swaps) with the measured speed); jobs per node real \(runs.keys.sorted().map { "\($0): \(runs[$0]!.count)" }.joined(separator: ", "))."
        )
        let error = real.mean / max(0.001, calibrated.completion.mean) - 1
        report.check(
            "simulation (with the measured node speed) predicts the real mean completion within 10 %",
            completions.count == count && abs(error) <= 0.10,
            "real ÷ simulated mean = \(fixed(1 + error, 3)) (declared speeds: \(fixed(real.mean / max(0.001, predicted.completion.mean), 3)); \(completions.count) of \(count) finished)"
        )
        if !predictionErrors.isEmpty {
            func line(_ label: String, _ errors: ArraySlice<Double>) -> [Table.Cell] {
                let absolute = Summary(errors.map { abs($0) })
                return [
                    .text(label), .text("\(errors.count)"), .text(signedPercent(errors.reduce(0, +) / Double(max(1, errors.count)))),
                    .text(signedPercent(absolute.median)), .text(signedPercent(absolute.p99))
                ]
            }
            var errors = Table(
                "Learned run times: Conductor's prediction, at placement, of each job's time on the node it chose (load if not resident + work at the node's learned speed) against the time it took (execution_start → execution_success); error = predicted ÷ actual − 1:",
                headers: ["jobs", "count", "mean error (bias)", "median |error|", "p99 |error|"])
            let half = predictionErrors.count / 2
            errors.rows.append(line("all", predictionErrors[...]))
            errors.rows.append(line("first half of the jobs", predictionErrors[..<half]))
            errors.rows.append(line("second half", predictionErrors[half...]))
            report.tables.append(errors)
        }
        report.notes.append(
            "The real run adds what the simulation leaves out: HTTP and WebSocket hops, PNG encoding, Conductor's learned (not given) node speeds, and polling delays; at time scale \(timeScale) one millisecond of overhead is \(fixed(0.001 / timeScale, 2)) simulated seconds."
        )
        return report
    }

    static func json(_ url: String, _ load: LoadGenerator) async throws -> JSONValue {
        try JSONValue(parsing: try await body(url, load).readableBytesView)
    }

    static func text(_ url: String, _ load: LoadGenerator) async throws -> String {
        String(buffer: try await body(url, load))
    }

    static func body(_ url: String, _ load: LoadGenerator) async throws -> ByteBuffer {
        let response = try await load.http.execute(HTTPClientRequest(url: url), timeout: .seconds(30))
        return try await response.body.collect(upTo: 256 << 20)
    }
}
