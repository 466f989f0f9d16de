import ComfyWire

/// ComfyUI's pending queue: a binary min-heap on (number, prompt_id), kept in heap order so
/// `GET /queue` lists items exactly as a real server's `heapq` array does.
struct PendingQueue: Sendable {
    private(set) var items: [QueueItem] = []

    var count: Int { items.count }
    var isEmpty: Bool { items.isEmpty }

    static func precedes(_ a: QueueItem, _ b: QueueItem) -> Bool {
        let x = a.number.double ?? 0, y = b.number.double ?? 0
        return x != y ? x < y : a.promptID < b.promptID
    }

    mutating func push(_ item: QueueItem) {
        items.append(item)
        siftDown(from: 0, to: items.count - 1)
    }

    mutating func pop() -> QueueItem? {
        guard let last = items.popLast() else { return nil }
        guard !items.isEmpty else { return last }
        let top = items[0]
        items[0] = last
        siftUp(0)
        return top
    }

    /// Removes the first item matching the predicate and restores the heap, as `heapq.heapify` would.
    @discardableResult
    mutating func removeFirst(where predicate: (QueueItem) -> Bool) -> QueueItem? {
        guard let index = items.firstIndex(where: predicate) else { return nil }
        let removed = items.remove(at: index)
        heapify()
        return removed
    }

    mutating func removeAll() { items.removeAll() }

    private mutating func heapify() {
        for i in stride(from: items.count / 2 - 1, through: 0, by: -1) { siftUp(i) }
    }

    /// Python's `_siftdown`: moves the item at `pos` toward the root.
    private mutating func siftDown(from start: Int, to position: Int) {
        var pos = position
        let newItem = items[pos]
        while pos > start {
            let parent = (pos - 1) >> 1
            guard Self.precedes(newItem, items[parent]) else { break }
            items[pos] = items[parent]
            pos = parent
        }
        items[pos] = newItem
    }

    /// Python's `_siftup`: moves the item at `pos` down to a leaf, then back up.
    private mutating func siftUp(_ position: Int) {
        var pos = position
        let end = items.count
        let start = pos
        let newItem = items[pos]
        var child = 2 * pos + 1
        while child < end {
            let right = child + 1
            if right < end, !Self.precedes(items[child], items[right]) { child = right }
            items[pos] = items[child]
            pos = child
            child = 2 * pos + 1
        }
        items[pos] = newItem
        siftDown(from: start, to: pos)
    }
}
