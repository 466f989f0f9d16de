import ArgumentParser
import Conductor
import ConductorCore
import Foundation
import Logging

/// `conductor store`: what an operator does to the store itself.
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Work on Conductor's store (queue, history, file books).",
        subcommands: [StoreCopyCommand.self]
    )
}

/// `conductor store copy --from sqlite:PATH --to postgres://…`: one machine's queue and history into PostgreSQL, to
/// go on with several coordinators. Stop the coordinator first; the copy is one transaction into an empty database.
struct StoreCopyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy a SQLite store (conductor.sqlite) into an empty PostgreSQL store.",
        discussion: """
            Stop `conductor serve` first. The upload blobs stay in the data directory's files/ folder: mount that
            directory on every coordinator (see deploy/README.md).
            """
    )

    @Option(help: "The SQLite store: sqlite:PATH (the conductor.sqlite file under dataDirectory).")
    var from: String

    @Option(help: "The PostgreSQL store: postgres://user:password@host:port/database")
    var to: String

    @OptionGroup var log: LogOptions

    func run() async throws {
        guard from.hasPrefix("sqlite:") else { throw ValidationError("--from must be sqlite:PATH, not \(from)") }
        let path = String(from.dropFirst("sqlite:".count))
        guard FileManager.default.fileExists(atPath: path) else { throw ValidationError("no SQLite store at \(path)") }
        guard to.hasPrefix("postgres://") || to.hasPrefix("postgresql://") else { throw ValidationError("--to must be a postgres:// URL") }
        let settings: PostgresSettings
        do {
            settings = try PostgresSettings(ClusterConfig.Postgres(url: to, poolSize: 2))
        } catch {
            throw ValidationError(error.description.replacingOccurrences(of: "cluster.json: store.postgres.url", with: "--to"))
        }
        let logger = log.logger(label: "conductor", atLeast: .warning)
        let source = try SQLiteStore(path: path)
        let target = try await PostgresStore(settings, logger: logger)
        defer { target.close() }
        let counts = try await target.copy(from: source)
        print("Copied \(counts) from \(path) to \(settings.redacted)")
    }
}
