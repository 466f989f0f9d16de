import ArgumentParser
import ConductorClient
import Foundation
import Logging

/// Runs a client command: resolves the server, opens a client, and turns a `ClientError` into a
/// message on stderr and its exit status.
enum ClientRun {
    static func run(_ options: ServerOptions, _ body: (ComfyClient, Output) async throws -> Void) async throws {
        let errors = Output.standardError()
        do {
            let server = try ServerAddress.resolve(option: options.server, environment: ProcessInfo.processInfo.environment)
            var logger = Logger(label: "conductor.cli")
            logger.logLevel = .critical
            try await ComfyClient.withClient(server: server, logger: logger) { client in
                try await body(client, .standardOutput())
            }
        } catch let error as ClientError {
            errors.line("Error: \(error)")
            throw ExitCode(error.exitCode)
        }
    }
}
