import ComfyWire
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where a command writes, and what it may draw there: tables cut to the width and redrawn progress
/// bars on a terminal; whole values and plain lines without control characters anywhere else.
public struct Output: Sendable {
    /// True when the text lands on a terminal a person watches.
    public let isTerminal: Bool
    /// The terminal's width in columns; nil when not a terminal.
    public let width: Int?
    private let sink: @Sendable (String) -> Void

    public init(isTerminal: Bool, width: Int?, sink: @escaping @Sendable (String) -> Void) {
        self.isTerminal = isTerminal
        self.width = isTerminal ? (width ?? 80) : nil
        self.sink = sink
    }

    /// The process's standard output, written unbuffered so progress redraws show at once.
    public static func standardOutput() -> Output {
        let terminal = isatty(STDOUT_FILENO) == 1
        return Output(isTerminal: terminal, width: terminal ? terminalWidth(STDOUT_FILENO) : nil) { text in
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }

    /// The process's standard error, for errors and warnings.
    public static func standardError() -> Output {
        let terminal = isatty(STDERR_FILENO) == 1
        return Output(isTerminal: terminal, width: terminal ? terminalWidth(STDERR_FILENO) : nil) { text in
            FileHandle.standardError.write(Data(text.utf8))
        }
    }

    /// Writes text as is.
    public func write(_ text: String) { sink(text) }

    /// Writes one line.
    public func line(_ text: String = "") { sink(text + "\n") }

    /// Writes several lines.
    public func lines(_ texts: [String]) {
        guard !texts.isEmpty else { return }
        sink(texts.joined(separator: "\n") + "\n")
    }

    /// Writes a JSON document: indented on a terminal, one compact line otherwise (JSON Lines for scripts).
    public func json(_ value: JSONValue) {
        line(isTerminal ? value.prettyString() : value.jsonString(.compact))
    }

    static func terminalWidth(_ descriptor: Int32) -> Int? {
        var size = winsize()
        let result = ioctl(descriptor, UInt(TIOCGWINSZ), &size)
        guard result == 0, size.ws_col > 0 else { return nil }
        return Int(size.ws_col)
    }
}

extension JSONValue {
    /// Indented JSON (two spaces per level), UTF-8 kept: `--json` on a terminal.
    public func prettyString(indent: Int = 0) -> String {
        let inner = String(repeating: "  ", count: indent + 1)
        let outer = String(repeating: "  ", count: indent)
        switch self {
        case .array(let items) where !items.isEmpty:
            return "[\n" + items.map { inner + $0.prettyString(indent: indent + 1) }.joined(separator: ",\n") + "\n\(outer)]"
        case .object(let object) where !object.isEmpty:
            let members = object.map { inner + JSONValue.string($0.key).jsonString(.compact) + ": " + $0.value.prettyString(indent: indent + 1) }
            return "{\n" + members.joined(separator: ",\n") + "\n\(outer)}"
        default:
            return jsonString(.compact)
        }
    }
}
