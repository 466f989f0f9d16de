import Hummingbird

/// Times every HTTP request into `ConductorMetrics` by route pattern, method and status.
///
/// Hummingbird's own `MetricsMiddleware` records through swift-metrics' global factory; this one writes to the
/// coordinator's registry, so each Conductor (several in one test process) keeps its own. Added first, it
/// sees every answer, refusals of later middleware included.
public struct HTTPMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ConductorMetrics

    public init(metrics: ConductorMetrics) {
        self.metrics = metrics
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let method = request.method.rawValue
        do {
            var response = try await next(request, context)
            let status = Int(response.status.code)
            let metrics = self.metrics
            let route = context.endpointPath ?? "NotFound"
            // Timed when the body is written out (a stream's whole life), as Hummingbird's own middleware does.
            let body = response.body
            response.body = ResponseBody(contentLength: body.contentLength) { writer in
                defer { metrics.recordRequest(route: route, method: method, status: status, duration: .now - started) }
                try await body.write(writer)
            }
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.recordRequest(route: context.endpointPath ?? "NotFound", method: method, status: Int(status), duration: .now - started)
            throw error
        }
    }
}
