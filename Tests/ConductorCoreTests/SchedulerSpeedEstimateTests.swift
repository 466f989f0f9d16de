import ConductorCore
import Testing

@Suite struct SchedulerSpeedEstimateTests {
    @Test func estimateConvergesTowardTheMeasuredSpeed() {
        var estimate = SpeedEstimate(declared: 1)
        var previousGap = Double.infinity
        for _ in 0..<20 {
            estimate.record(work: 30, seconds: 10)  // 3 units/s
            let gap = abs(estimate.unitsPerSecond - 3)
            #expect(gap < previousGap)
            previousGap = gap
        }
        #expect(abs(estimate.unitsPerSecond - 3) < 0.01)
        #expect(estimate.samples == 20)
    }

    @Test func firstMeasurementMovesThirtyPercentOfTheWay() {
        var estimate = SpeedEstimate(declared: 2)
        estimate.record(work: 12, seconds: 3)  // 4 units/s
        #expect(abs(estimate.unitsPerSecond - 2.6) < 1e-12)
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
        let speed = estimate.unitsPerSecond  // 1.3
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
