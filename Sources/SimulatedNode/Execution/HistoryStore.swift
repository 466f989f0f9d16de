import ComfyWire

/// ComfyUI's history dict: entries in completion order, oldest first, capped like MAXIMUM_HISTORY_SIZE.
struct HistoryStore: Sendable {
    private(set) var order: [String] = []
    private var entries: [String: HistoryEntry] = [:]

    var count: Int { order.count }

    subscript(id: String) -> HistoryEntry? { entries[id] }

    /// Inserts (or replaces, moving to the end as a re-run does) and drops the oldest past the cap.
    mutating func insert(_ entry: HistoryEntry, id: String, cap: Int) {
        if entries[id] != nil { order.removeAll { $0 == id } }
        if order.count > cap, let oldest = order.first {
            order.removeFirst()
            entries[oldest] = nil
        }
        order.append(id)
        entries[id] = entry
    }

    mutating func remove(_ id: String) {
        guard entries.removeValue(forKey: id) != nil else { return }
        order.removeAll { $0 == id }
    }

    mutating func removeAll() {
        order.removeAll()
        entries.removeAll()
    }

    /// `GET /history?max_items&offset` with ComfyUI's semantics: offset counts from the oldest;
    /// max_items alone gives the newest N, still oldest first.
    func page(maxItems: Int?, offset: Int) -> [(String, HistoryEntry)] {
        var start = offset
        if start < 0, let maxItems { start = order.count - maxItems }
        var out: [(String, HistoryEntry)] = []
        for (i, id) in order.enumerated() where i >= start {
            out.append((id, entries[id]!))
            if let maxItems, out.count >= maxItems { break }
        }
        return out
    }
}
