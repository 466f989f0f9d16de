/// A plain text table: a header row, aligned columns, and on a terminal the widest flexible
/// column cut so each row fits the screen.
public struct Table: Sendable {
    public struct Column: Sendable {
        public var title: String
        /// Right-aligned (numbers, sizes, durations).
        public var alignRight: Bool
        /// May be cut with `…` when the row is wider than the terminal.
        public var flexible: Bool

        public init(_ title: String, alignRight: Bool = false, flexible: Bool = false) {
            self.title = title
            self.alignRight = alignRight
            self.flexible = flexible
        }
    }

    public var columns: [Column]
    public var rows: [[String]] = []

    public init(_ columns: [Column]) { self.columns = columns }

    public mutating func append(_ row: [String]) { rows.append(row) }

    /// The table as lines. `width` is the terminal width, or nil when the output is not a terminal
    /// (then nothing is cut, so scripts see whole values).
    public func render(width: Int?) -> [String] {
        let gap = 2
        var widths = columns.indices.map { index in
            ([columns[index].title] + rows.map { $0.indices.contains(index) ? $0[index] : "" }).map(TextWidth.of).max() ?? 0
        }
        if let width {
            var excess = widths.reduce(0, +) + gap * (columns.count - 1) - width
            // Shrink the flexible columns, widest first, down to 8 columns each.
            while excess > 0 {
                guard let index = columns.indices.filter({ columns[$0].flexible && widths[$0] > 8 }).max(by: { widths[$0] < widths[$1] })
                else { break }
                let cut = min(excess, widths[index] - 8)
                widths[index] -= cut
                excess -= cut
            }
        }
        func line(_ cells: [String]) -> String {
            var parts: [String] = []
            for index in columns.indices {
                let cell = TextWidth.truncate(cells.indices.contains(index) ? cells[index] : "", to: widths[index])
                let isLast = index == columns.count - 1
                if columns[index].alignRight {
                    parts.append(TextWidth.padLeft(cell, to: widths[index]))
                } else {
                    parts.append(isLast ? cell : TextWidth.pad(cell, to: widths[index]))
                }
            }
            var text = parts.joined(separator: String(repeating: " ", count: gap))
            while text.hasSuffix(" ") { text.removeLast() }
            return text
        }
        return [line(columns.map(\.title))] + rows.map(line)
    }
}
