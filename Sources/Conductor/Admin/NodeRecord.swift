/// What Conductor saw of one node since it started, for operators: finished jobs, the last error, the
/// progress of the job it runs, and how busy it was over the last hour.
struct NodeRecord: Sendable {
    /// A problem an operator should hear about, with when it happened (milliseconds since the epoch).
    struct Problem: Sendable {
        var message: String
        var at: Int64
    }

    /// The latest `progress` of a job on the node (the sampler's step of the graph node executing).
    struct Progress: Sendable {
        var promptID: String
        var graphNode: String?
        var value: Double
        var max: Double
    }

    var done = 0
    var failed = 0
    var interrupted = 0
    var lastError: Problem?
    var progress: Progress?
    var utilisation = UtilisationHistory()
}
