import ComfyWire
import Foundation

/// The printable result of one scenario: tables, the goals checked, and notes; as text or JSON.
public struct BenchReport: Sendable {
    /// One goal of the scenario and whether this run met it (informative: a benchmark never fails CI).
    public struct Check: Sendable {
        public var goal: String
        public var met: Bool
        public var measured: String
    }

    public var scenario: String
    public var title: String
    public var tables: [Table] = []
    public var checks: [Check] = []
    public var notes: [String] = []

    public init(scenario: String, title: String) {
        self.scenario = scenario
        self.title = title
    }

    public mutating func check(_ goal: String, _ met: Bool, _ measured: String) {
        checks.append(Check(goal: goal, met: met, measured: measured))
    }

    /// Whether every goal was met.
    public var allMet: Bool { checks.allSatisfy(\.met) }

    /// Markdown: title, tables, goals, notes.
    public var text: String {
        var out = "## \(scenario.uppercased()) — \(title)\n\n"
        for table in tables { out += table.markdown + "\n" }
        if !checks.isEmpty {
            out += "| goal | measured | met |\n|---|---|---|\n"
            for check in checks { out += "| \(check.goal) | \(check.measured) | \(check.met ? "yes" : "**no**") |\n" }
            out += "\n"
        }
        for note in notes { out += "\(note)\n" }
        return out
    }

    public var json: JSONValue {
        [
            "scenario": .string(scenario), "title": .string(title), "tables": .array(tables.map(\.json)),
            "checks": .array(
                checks.map { ["goal": .string($0.goal), "met": .bool($0.met), "measured": .string($0.measured)] }),
            "notes": .array(notes.map { .string($0) })
        ]
    }
}

/// A table whose cells keep their numbers, so JSON output carries values and text output rounds them.
public struct Table: Sendable {
    public enum Cell: Sendable {
        case text(String)
        case number(Double, digits: Int)
        /// A number printed as "1.23×".
        case ratio(Double)
    }

    public var caption: String
    public var headers: [String]
    public var rows: [[Cell]] = []

    public init(_ caption: String, headers: [String]) {
        self.caption = caption
        self.headers = headers
    }

    public var markdown: String {
        var out = caption.isEmpty ? "" : "\(caption)\n\n"
        out += "| " + headers.joined(separator: " | ") + " |\n"
        out += "|" + headers.map { _ in "---" }.joined(separator: "|") + "|\n"
        for row in rows { out += "| " + row.map(Self.format).joined(separator: " | ") + " |\n" }
        return out
    }

    public var json: JSONValue {
        .object(
            JSONObject([
                ("caption", .string(caption)),
                (
                    "rows",
                    .array(
                        rows.map { row in
                            .object(
                                JSONObject(
                                    zip(headers, row).map { header, cell in
                                        switch cell {
                                        case .text(let text): (header, .string(text))
                                        case .number(let value, _), .ratio(let value):
                                            (header, value.isFinite ? .double(value) : .null)
                                        }
                                    }))
                        })
                )
            ]))
    }

    static func format(_ cell: Cell) -> String {
        switch cell {
        case .text(let text): text
        case .number(let value, let digits): fixed(value, digits)
        case .ratio(let value): fixed(value, 2) + "×"
        }
    }
}

/// `value` with `digits` decimals.
public func fixed(_ value: Double, _ digits: Int) -> String {
    value.isFinite ? String(format: "%.\(digits)f", value) : "–"
}
