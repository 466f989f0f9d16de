extension SystemStats {
    /// One torch device with its memory in bytes; a CPU-only server lists `cpu` with a null index.
    public struct Device: Sendable, Hashable {
        /// e.g. `"cuda:0 NVIDIA H100 80GB HBM3 : cudaMallocAsync"` or `"cpu"`.
        public var name: String
        /// e.g. `"cuda"`, `"cpu"`, `"mps"`.
        public var type: String
        public var index: Int?
        public var vramTotal: Int64
        public var vramFree: Int64
        public var torchVramTotal: Int64
        public var torchVramFree: Int64
        /// Keys this model does not know, in their order.
        public var extra: JSONObject

        static let knownKeys = [
            "name", "type", "index", "vram_total", "vram_free", "torch_vram_total", "torch_vram_free"
        ]

        public init(
            name: String, type: String, index: Int? = nil, vramTotal: Int64, vramFree: Int64, torchVramTotal: Int64 = 0,
            torchVramFree: Int64 = 0, extra: JSONObject = [:]
        ) {
            self.name = name
            self.type = type
            self.index = index
            self.vramTotal = vramTotal
            self.vramFree = vramFree
            self.torchVramTotal = torchVramTotal
            self.torchVramFree = torchVramFree
            self.extra = extra
        }

        public init(json: JSONValue) throws(WireFormatError) {
            let context = "system_stats device"
            let object = try json.object(in: context)
            self.init(
                name: try object.string("name", in: context),
                type: try object.string("type", in: context),
                index: try object.optionalInt64("index", in: context).map { Int($0) },
                vramTotal: try object.int64("vram_total", in: context),
                vramFree: try object.int64("vram_free", in: context),
                torchVramTotal: try object.int64("torch_vram_total", in: context),
                torchVramFree: try object.int64("torch_vram_free", in: context),
                extra: object.removingKeys(Self.knownKeys)
            )
        }

        /// The object in ComfyUI's key order (`index` null when unset), then `extra`.
        public var json: JSONValue {
            var object: JSONObject = [
                "name": .string(name),
                "type": .string(type),
                "index": index.map { .int($0) } ?? .null,
                "vram_total": .number(JSONNumber(vramTotal)),
                "vram_free": .number(JSONNumber(vramFree)),
                "torch_vram_total": .number(JSONNumber(torchVramTotal)),
                "torch_vram_free": .number(JSONNumber(torchVramFree))
            ]
            for (key, value) in extra { object[key] = value }
            return .object(object)
        }
    }
}
