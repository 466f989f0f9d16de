import ConductorCore
import Testing

@Suite("Fair shares across clients")
struct FairShareTests {
    /// Stamps jobs in queue order, then serves one at a time in offer order: the order they are served.
    static func served(_ queue: [(client: String, work: Double)], front: Set<Int> = []) -> [Int] {
        var share = FairShare()
        var waiting = queue.enumerated().map {
            (index: $0.offset, front: front.contains($0.offset), stamp: share.stamp(client: $0.element.client, work: $0.element.work))
        }
        var served: [Int] = []
        while !waiting.isEmpty {
            let next = FairShare.order(waiting.map { ($0.front, $0.stamp) })[0]
            share.dispatched(stamp: waiting[next].stamp, front: waiting[next].front)
            served.append(waiting.remove(at: next).index)
        }
        return served
    }

    @Test("one client's thousand queued jobs do not starve another client's one, however the rounds go")
    func loneJobIsNotStarved() {
        var share = FairShare()
        var flood = (0..<1000).map { _ in share.stamp(client: "flood", work: 20) }
        // Ten of the flood's jobs go to nodes, then the lone job arrives.
        for _ in 0..<10 { share.dispatched(stamp: flood.removeFirst()) }
        let lone = share.stamp(client: "lone", work: 20)
        let order = FairShare.order(flood.map { (false, $0) } + [(false, lone)])
        #expect(order.prefix(2).contains(flood.count), "the lone job is offered first or second, not after 990 others")
    }

    @Test("a client of weight 2 gets twice the work through while both queue")
    func weights() {
        var share = FairShare()
        var stamps: [(client: String, stamp: Double)] = []
        for _ in 0..<30 {
            stamps.append(("heavy", share.stamp(client: "heavy", work: 10, weight: 2)))
            stamps.append(("light", share.stamp(client: "light", work: 10)))
        }
        let first = FairShare.order(stamps.map { (false, $0.stamp) }).prefix(30).map { stamps[$0].client }
        #expect(first.count { $0 == "heavy" } == 20)
        var bad = FairShare()
        #expect(bad.stamp(client: "x", work: 10, weight: 0) == 0 && bad.stamp(client: "x", work: 10, weight: -1) == 10)
    }

    @Test("front still jumps every share")
    func frontJumps() {
        #expect(Self.served([("a", 20), ("b", 20), ("a", 20)], front: [2]) == [2, 0, 1])
    }

    @Test("a front job does not push newcomers behind its client's queue")
    func frontMovesNoVirtualTime() {
        var share = FairShare()
        let flood = (0..<100).map { _ in share.stamp(client: "flood", work: 20) }
        let urgent = share.stamp(client: "flood", work: 20)
        share.dispatched(stamp: urgent, front: true)
        let lone = share.stamp(client: "lone", work: 20)
        let order = FairShare.order(flood.map { (false, $0) } + [(false, lone)])
        #expect(order.prefix(2).contains(flood.count), "the lone job is offered first or second, not after the flood's 100")
    }

    @Test("shares are of work: a client with short jobs gets more of them through")
    func sharesAreWork() {
        let long = Array(repeating: (client: "long", work: 40.0), count: 3)
        let short = Array(repeating: (client: "short", work: 10.0), count: 6)
        // long is stamped 0, 40, 80; short 0, 10, 20, 30, 40, 50: stamp order, queue order among equals.
        #expect(Self.served(long + short) == [0, 3, 4, 5, 6, 1, 7, 8, 2])
    }

    @Test("an idle client banks no credit: it starts level with the fleet's virtual time")
    func noBankedCredit() {
        var share = FairShare()
        let early = (0..<5).map { _ in share.stamp(client: "a", work: 10) }
        for stamp in early { share.dispatched(stamp: stamp) }
        let late = share.stamp(client: "b", work: 10)
        let next = share.stamp(client: "a", work: 10)
        #expect(late == 40 && next == 50, "b starts at the virtual time, not at 0 ahead of a's next ten")
    }

    @Test("with one client the order is the queue's")
    func oneClientIsFIFO() {
        #expect(Self.served([("x", 3), ("x", 50), ("x", 1), ("x", 7)]) == [0, 1, 2, 3])
    }
}
