/// The simulated GPU's memory: which models are resident, and what loading another one costs.
///
/// A pure value: the node asks it what a load costs and applies the result; no clock inside.
public struct SimulatedGPU: Sendable, Hashable {
    public struct ResidentModel: Sendable, Hashable {
        public var name: String
        public var sizeBytes: Int64
    }

    public let vramTotal: Int64
    public let reserved: Int64
    public let loadBytesPerSecond: Double
    /// Least recently used first.
    public private(set) var resident: [ResidentModel] = []

    public init(profile: NodeProfile) {
        vramTotal = profile.vramTotalBytes
        reserved = profile.vramReservedBytes
        loadBytesPerSecond = profile.loadBytesPerSecond
    }

    public var vramUsed: Int64 { reserved + resident.reduce(0) { $0 + $1.sizeBytes } }
    public var vramFree: Int64 { max(0, vramTotal - vramUsed) }

    public func isResident(_ name: String) -> Bool { resident.contains { $0.name == name } }

    public enum LoadError: Error, Equatable {
        /// The model is larger than the whole card: ComfyUI would fail with an out-of-memory error.
        case outOfMemory(needed: Int64, available: Int64)
    }

    /// Makes a model resident, evicting the least recently used ones that no longer fit.
    /// Returns the simulated seconds the load takes (0 when it was already resident).
    public mutating func load(_ name: String, sizeBytes: Int64) throws(LoadError) -> Double {
        if let index = resident.firstIndex(where: { $0.name == name }) {
            resident.append(resident.remove(at: index))
            return 0
        }
        guard sizeBytes <= vramTotal - reserved else {
            throw .outOfMemory(needed: sizeBytes, available: vramTotal - reserved)
        }
        while vramFree < sizeBytes, !resident.isEmpty { resident.removeFirst() }
        resident.append(ResidentModel(name: name, sizeBytes: sizeBytes))
        return Double(sizeBytes) / loadBytesPerSecond
    }

    /// `POST /free` with `unload_models`.
    public mutating func unloadAll() { resident.removeAll() }
}
