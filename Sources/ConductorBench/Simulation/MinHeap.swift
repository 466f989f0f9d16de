/// A binary min-heap, for the SRPT bound's pending jobs.
struct MinHeap<Element: Comparable> {
    private var storage: [Element] = []

    var min: Element? { storage.first }
    var count: Int { storage.count }

    mutating func insert(_ element: Element) {
        storage.append(element)
        var child = storage.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard storage[child] < storage[parent] else { break }
            storage.swapAt(child, parent)
            child = parent
        }
    }

    mutating func removeMin() {
        guard !storage.isEmpty else { return }
        storage.swapAt(0, storage.count - 1)
        storage.removeLast()
        siftDown(0)
    }

    /// Changes the smallest element; the change must not make it larger than its children.
    mutating func updateMin(_ change: (inout Element) -> Void) {
        guard !storage.isEmpty else { return }
        change(&storage[0])
        siftDown(0)
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < storage.count && storage[left] < storage[smallest] { smallest = left }
            if right < storage.count && storage[right] < storage[smallest] { smallest = right }
            guard smallest != parent else { return }
            storage.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
