/// One simulated GPU node: a FIFO of job indices (the first one running), its resident checkpoint, its speed.
struct VirtualNode {
    let speed: Double
    /// Job indices, `queue[head]` running when `running` is true.
    private(set) var queue: [Int] = []
    private var head = 0
    var running = false
    /// Virtual time the running job finishes.
    var finish = Double.infinity
    /// Checkpoint in VRAM (the last one loaded).
    var resident: String?
    /// Checkpoint of the last job it finished: what the coordinator knows it holds.
    var lastFinished: String?
    /// LoRA applied last.
    var lora: String?

    init(speed: Double) { self.speed = speed }

    var count: Int { queue.count - head }
    var isIdle: Bool { count == 0 }
    var first: Int? { head < queue.count ? queue[head] : nil }
    /// Jobs in order, the running one first.
    var jobs: ArraySlice<Int> { queue[head...] }

    mutating func append(_ job: Int) { queue.append(job) }

    mutating func removeFirst() -> Int {
        let job = queue[head]
        head += 1
        if head > 1024 && head * 2 > queue.count {
            queue.removeFirst(head)
            head = 0
        }
        return job
    }
}
