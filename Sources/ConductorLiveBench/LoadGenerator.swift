import AsyncHTTPClient
import ConductorBench
import Foundation
import NIOCore
import NIOHTTP1

/// Sends requests the way the benchmark scenarios ask: at a constant rate with each latency measured from the
/// request's intended send time (so a slow answer cannot hide the requests queued behind it: no coordinated
/// omission), or as fast as a fixed number of workers can (saturation).
public struct LoadGenerator: Sendable {
    public let http: HTTPClient

    public init(http: HTTPClient) { self.http = http }

    /// One request; throws unless the status is `expect`. Returns once the whole body has been read.
    public func send(_ method: HTTPMethod, _ url: String, body: [UInt8]? = nil, expect: Int = 200) async throws {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await http.execute(request, timeout: .seconds(30))
        var bytes = 0
        for try await chunk in response.body { bytes += chunk.readableBytes }
        guard Int(response.status.code) == expect else { throw LiveBenchError("\(method) \(url) answered \(response.status.code)") }
    }

    /// Latencies in milliseconds from each request's intended send time, and the failures.
    public struct OpenLoopResult: Sendable {
        public var latencies: [Double]
        public var failures: Int
        public var summary: Summary { Summary(latencies) }
    }

    /// `rate` requests per second for `seconds`, the i-th due at start + i / rate whether or not earlier ones answered.
    public static func openLoop(rate: Double, seconds: Double, _ request: @escaping @Sendable () async throws -> Void) async -> OpenLoopResult {
        let count = max(1, Int(rate * seconds))
        let start = ContinuousClock.now + .milliseconds(20)
        return await withTaskGroup(of: Double?.self) { group in
            for index in 0..<count {
                let intended = start + .seconds(Double(index) / rate)
                try? await Task.sleep(until: intended, clock: .continuous)
                group.addTask {
                    do {
                        try await request()
                        return milliseconds(ContinuousClock.now - intended)
                    } catch {
                        return nil
                    }
                }
            }
            var result = OpenLoopResult(latencies: [], failures: 0)
            for await latency in group {
                if let latency { result.latencies.append(latency) } else { result.failures += 1 }
            }
            return result
        }
    }

    /// `workers` loops sending back to back for `seconds`: completed requests per second, and failures.
    public static func closedLoop(
        workers: Int, seconds: Double, _ request: @escaping @Sendable () async throws -> Void
    ) async -> (perSecond: Double, failures: Int) {
        let start = ContinuousClock.now
        let end = start + .seconds(seconds)
        let (done, failed) = await withTaskGroup(of: (Int, Int).self) { group in
            for _ in 0..<workers {
                group.addTask {
                    var done = 0, failed = 0
                    while ContinuousClock.now < end {
                        do {
                            try await request()
                            done += 1
                        } catch { failed += 1 }
                    }
                    return (done, failed)
                }
            }
            return await group.reduce((0, 0)) { ($0.0 + $1.0, $0.1 + $1.1) }
        }
        return (Double(done) / (milliseconds(ContinuousClock.now - start) / 1000), failed)
    }
}

public func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
}
