import ConductorCore
import Testing

@Suite struct SchedulerSpeedEstimateTests {
    @Test func estimateFollowsTheMeasuredSpeed() {
        var estimate = SpeedEstimate(declared: 1)
        for index in 0..<20 {
            estimate.record(work: index % 2 == 0 ? 30 : 36, seconds: 10)  // 3 and 3.6 units/s in turn
            #expect(estimate.unitsPerSecond >= 3 - 1e-12 && estimate.unitsPerSecond <= 3.6 + 1e-12, "never outside what was measured")
        }
        #expect(abs(estimate.unitsPerSecond - 3.3) < 0.2)
        #expect(estimate.samples == 20)
    }

    @Test func firstMeasurementReplacesTheDeclaredSpeed() {
        var estimate = SpeedEstimate(declared: 2)
        estimate.record(work: 12, seconds: 3)  // 4 units/s
        #expect(abs(estimate.unitsPerSecond - 4) < 1e-12)
        estimate.record(work: 6, seconds: 3)  // 2 units/s: the mean of the two
        #expect(abs(estimate.unitsPerSecond - 3) < 1e-12)
        estimate.record(work: 9, seconds: 3)  // 3 units/s
        #expect(abs(estimate.unitsPerSecond - 3) < 1e-12)
        // From the fourth job on (1 / alpha > 3), each new one weighs alpha.
        estimate.record(work: 12, seconds: 3)  // 4 units/s
        #expect(abs(estimate.unitsPerSecond - (SpeedEstimate.alpha * 4 + (1 - SpeedEstimate.alpha) * 3)) < 1e-12)
    }

    @Test func nonPositiveDurationsAreIgnored() {
        var estimate = SpeedEstimate(declared: 2)
        estimate.record(work: 10, seconds: 0)
        estimate.record(work: 10, seconds: -1)
        #expect(estimate.unitsPerSecond == 2)
        #expect(estimate.samples == 0)
        #expect(estimate.relativeError == nil)
    }

    @Test func relativeErrorIsTheMeanOfEachPredictionsMiss() {
        var estimate = SpeedEstimate(declared: 1)
        estimate.record(work: 10, seconds: 5)  // predicted 10 s for a 5 s job: off by 100 %
        #expect(estimate.relativeError == 1)
        let speed = estimate.unitsPerSecond  // 2: the first measurement
        estimate.record(work: speed * 4, seconds: 4)  // predicted exactly
        #expect(abs((estimate.relativeError ?? 0) - 0.5) < 1e-12)
    }

    @Test func nonPositiveDeclaredSpeedStartsAtOne() {
        #expect(SpeedEstimate(declared: 0).unitsPerSecond == 1)
        #expect(SpeedEstimate(declared: -3).unitsPerSecond == 1)
    }

    @Test func loadTimeStartsDeclaredAndMovesTowardObservedLoads() {
        var load = LoadTimeEstimate(declared: 10)
        #expect(load.seconds == 10 && load.samples == 0)
        load.record(2)
        #expect(abs(load.seconds - 7.6) < 1e-9)
        load.record(-1)
        load.record(.infinity)
        #expect(load.samples == 1, "negative or infinite observations are ignored")
        #expect(LoadTimeEstimate(declared: -4).seconds == 0)
    }
}
