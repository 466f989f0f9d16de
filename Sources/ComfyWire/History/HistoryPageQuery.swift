/// The `max_items` and `offset` query parameters of `GET /history`, read as ComfyUI reads them:
/// anything that is not an integer is an error (ComfyUI answers 500).
public struct HistoryPageQuery: Sendable, Hashable {
    public var maxItems: Int?
    /// From the oldest entry; -1 (the default) means "the newest `maxItems`".
    public var offset: Int

    public init(maxItems: Int? = nil, offset: Int = -1) {
        self.maxItems = maxItems
        self.offset = offset
    }

    /// nil when a parameter is present but not an integer.
    public init?(maxItems: String?, offset: String?) {
        self.init()
        if let maxItems {
            guard let value = Int(maxItems) else { return nil }
            self.maxItems = value
        }
        if let offset {
            guard let value = Int(offset) else { return nil }
            self.offset = value
        }
    }
}
