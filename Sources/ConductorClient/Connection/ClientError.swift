import Foundation

/// Why a CLI command could not do what was asked, worded for the person at the terminal: what
/// happened, and what to do about it.
public enum ClientError: Error, Sendable, CustomStringConvertible {
    /// The command line or a file it names is wrong (bad `--set`, unreadable workflow, bad server address).
    case usage(String)
    /// No connection could be made to the server.
    case unreachable(server: String, reason: String)
    /// The server does not have a route the command needs (HTTP 404/405).
    case notOffered(server: String, request: String, status: Int)
    /// The server answered with a status the command did not expect.
    case unexpectedStatus(server: String, request: String, status: Int, body: String)
    /// The server answered 200 with a body that is not what ComfyUI sends.
    case badAnswer(server: String, request: String, reason: String)
    /// `POST /prompt` answered 400: the workflow did not validate.
    case promptRejected(PromptRejection)
    /// The thing asked for does not exist on the server (a prompt id, a node class, a model folder, a file).
    case notFound(String)

    /// What the person reads on stderr.
    public var description: String {
        switch self {
        case .usage(let message), .notFound(let message):
            return message
        case .unreachable(let server, let reason):
            return """
                Cannot reach \(server) (\(reason)).
                Is ComfyUI or Conductor running there? Start a local one with `conductor demo`, or point the CLI \
                elsewhere with --server URL or \(ServerAddress.environmentVariable)=URL.
                """
        case .notOffered(let server, let request, let status):
            return """
                \(server) does not offer \(request) (HTTP \(status)).
                Check that --server points at ComfyUI or Conductor (not another web service); an older server may lack this route.
                """
        case .unexpectedStatus(let server, let request, let status, let body):
            let excerpt = body.trimmingCharacters(in: .whitespacesAndNewlines)
            return "\(server) answered \(request) with HTTP \(status)"
                + (excerpt.isEmpty ? "." : ":\n" + String(excerpt.prefix(600)))
        case .badAnswer(let server, let request, let reason):
            return "\(server) answered \(request) with something that is not ComfyUI's format: \(reason)"
        case .promptRejected(let rejection):
            return rejection.description
        }
    }

    /// The process exit status: 64 for a wrong command line (as argument parsing uses), 69 when the
    /// server cannot be reached (sysexits' EX_UNAVAILABLE), 1 for everything the server refused.
    public var exitCode: Int32 {
        switch self {
        case .usage: 64
        case .unreachable: 69
        default: 1
        }
    }
}
