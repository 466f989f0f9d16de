import ConductorBench
import Testing

@Suite("traces")
struct TraceTests {
    let generator = TraceGenerator(arrivalRate: 2, work: .uniform(low: 2, high: 6), checkpoints: 3, clients: 4)

    @Test("the same seed gives the same trace; another seed a different one")
    func determinism() {
        #expect(generator.trace(jobs: 500, seed: 7) == generator.trace(jobs: 500, seed: 7))
        #expect(generator.trace(jobs: 500, seed: 7) != generator.trace(jobs: 500, seed: 8))
    }

    @Test("generated traces have increasing arrivals, work in range and Zipf(1) checkpoint popularity")
    func shape() {
        let trace = generator.trace(jobs: 6_000, seed: 1)
        #expect(zip(trace.jobs, trace.jobs.dropFirst()).allSatisfy { $0.arrival <= $1.arrival })
        #expect(trace.jobs.allSatisfy { $0.work >= 2 && $0.work <= 6 })
        #expect(abs(trace.meanWork - 4) < 0.1)
        let rate = Double(trace.jobs.count) / trace.jobs.last!.arrival
        #expect(abs(rate - 2) < 0.15)
        let counts = Dictionary(grouping: trace.jobs, by: { $0.checkpoint ?? "" }).mapValues { Double($0.count) }
        let first = counts[TraceGenerator.checkpointName(0)] ?? 0
        let third = counts[TraceGenerator.checkpointName(2)] ?? 0
        #expect(abs(first / third - 3) < 0.4, "1/1 vs 1/3")
    }

    @Test("a trace survives the JSON-lines file format unchanged, comments and blank lines skipped")
    func roundTrip() throws {
        let trace = generator.trace(jobs: 300, seed: 3)
        let text = trace.jsonLines(comment: ["seed 3"]) + "\n"
        #expect(text.hasPrefix("# seed 3\n{"))
        #expect(try Trace(jsonLines: text) == trace)
    }

    @Test("LoRAs survive the file format, and half the jobs carry one")
    func loras() throws {
        var generator = generator
        generator.loras = 4
        let trace = generator.trace(jobs: 2_000, seed: 3)
        let share = Double(trace.jobs.count { $0.lora != nil }) / 2_000
        #expect(abs(share - 0.5) < 0.05)
        #expect(Set(trace.jobs.compactMap(\.lora)) == Set((0..<4).map(TraceGenerator.loraName)))
        #expect(try Trace(jsonLines: trace.jsonLines()) == trace)
    }

    @Test("bursts keep the mean rate and put the burst's share of arrivals inside the burst windows")
    func bursts() {
        var generator = generator
        generator.burst = .init(period: 600, seconds: 60, factor: 4)
        let trace = generator.trace(jobs: 20_000, seed: 4)
        let span = trace.jobs.last!.arrival
        #expect(abs(Double(trace.jobs.count) / span / generator.arrivalRate - 1) < 0.05)
        // 60 of every 600 s at 4× the rate between: 4 × 0.1 / (4 × 0.1 + 0.9) ≈ 31 % of arrivals.
        let inside = Double(trace.jobs.count { $0.arrival.truncatingRemainder(dividingBy: 600) < 60 }) / 20_000
        #expect(abs(inside - 0.4 / 1.3) < 0.03)
    }

    @Test("a hand-written line needs only arrival and work; a bad line names its number")
    func minimalLines() throws {
        let trace = try Trace(jsonLines: "{\"arrival\": 1.5, \"work\": 2}\n{\"arrival\": 0.5, \"work\": 3, \"checkpoint\": \"x\"}")
        #expect(trace.jobs.map(\.id) == [1, 0], "sorted by arrival, id defaults to the position")
        #expect(trace.jobs[0].checkpoint == "x" && trace.jobs[1].checkpoint == nil)
        #expect(throws: TraceFormatError.self) { try Trace(jsonLines: "{\"arrival\": 1}\n") }
        do {
            _ = try Trace(jsonLines: "\n{\"arrival\": 1, \"work\": 1}\n{\"work\": 1}\n")
        } catch {
            #expect(error.line == 3)
        }
    }
}
