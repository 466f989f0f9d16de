import ArgumentParser
import Conductor
import Logging

/// `--log-format` and `--log-level` of the commands that serve (`serve`, `demo`). Logs go to standard error.
struct LogOptions: ParsableArguments {
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @Option(help: "Log lines as plain text, or one JSON object per line for a log collector.")
    var logFormat: Format = .text

    @Option(help: "The least severe level logged.")
    var logLevel: Logger.Level = .info

    /// A logger writing in the chosen format at the chosen level; no global bootstrap.
    func logger(label: String, atLeast floor: Logger.Level? = nil) -> Logger {
        var logger =
            switch logFormat {
            case .text: Logger(label: label)
            case .json: Logger(label: label) { label in JSONLogHandler(label: label) }
            }
        logger.logLevel = floor.map { max($0, logLevel) } ?? logLevel
        return logger
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
