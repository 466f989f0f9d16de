import Foundation

/// What a simulated ComfyUI node pretends to be: its GPU, its models, and how fast time passes.
///
/// Loaded from a JSON profile file (`conductor sim-node --profile FILE`); every key has a default.
public struct NodeProfile: Codable, Sendable, Hashable {
    /// A model file on the node's disk; its size drives load time and VRAM use.
    public struct ModelFile: Codable, Sendable, Hashable {
        public var name: String
        public var sizeBytes: Int64
        /// For a checkpoint: how many times longer than the node's speed a sampling step with it takes (a larger
        /// model); nil = 1.
        public var stepCost: Double?

        public init(name: String, sizeBytes: Int64, stepCost: Double? = nil) {
            self.name = name
            self.sizeBytes = sizeBytes
            self.stepCost = stepCost
        }
    }

    /// Shown in `/system_stats` devices and logs.
    public var name: String = "sim-node"
    /// The device name in `/system_stats`, e.g. "cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync".
    public var deviceName: String = "cuda:0 Simulated GPU : cudaMallocAsync"
    public var vramTotalBytes: Int64 = 24 * 1 << 30
    /// VRAM the runtime itself holds before any model is loaded.
    public var vramReservedBytes: Int64 = 512 * 1 << 20
    /// Relative sampling speed; 1.0 samples a 512×512 step in one simulated second.
    public var speed: Double = 1.0
    /// Disk-to-VRAM bandwidth for model loads, bytes per simulated second.
    public var loadBytesPerSecond: Double = 2_000_000_000
    /// Real seconds per simulated second: 0.001 runs a 20 s job in 20 ms.
    public var timeScale: Double = 1.0
    public var checkpoints: [ModelFile] = []
    public var loras: [ModelFile] = []
    public var vaes: [ModelFile] = []
    /// Send JPEG previews while sampling (ComfyUI's `--preview-method`).
    public var previews: Bool = true
    /// A preview every this many sampler steps (ComfyUI sends one per step).
    public var previewEverySteps: Int = 1
    /// Pads each preview JPEG to this many bytes with a comment segment (real previews are tens of KB); nil sends the 32×32 one.
    public var previewBytes: Int? = nil
    /// `--max-upload-size` in bytes.
    public var maxUploadBytes: Int = 100 * 1024 * 1024
    /// Serve the fault-injection control route `/sim/faults` (off by default, as on a real node).
    public var faultControl: Bool = false
    /// Files served at `/` (e.g. the ComfyUI frontend's `static` folder); none when nil.
    public var webRoot: String? = nil
    public var ramTotalBytes: Int64 = 64 * 1 << 30

    public init() {}

    public init(from decoder: any Decoder) throws {
        let defaults = NodeProfile()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? defaults.name
        deviceName = try c.decodeIfPresent(String.self, forKey: .deviceName) ?? defaults.deviceName
        vramTotalBytes = try c.decodeIfPresent(Int64.self, forKey: .vramTotalBytes) ?? defaults.vramTotalBytes
        vramReservedBytes = try c.decodeIfPresent(Int64.self, forKey: .vramReservedBytes) ?? defaults.vramReservedBytes
        speed = try c.decodeIfPresent(Double.self, forKey: .speed) ?? defaults.speed
        loadBytesPerSecond = try c.decodeIfPresent(Double.self, forKey: .loadBytesPerSecond) ?? defaults.loadBytesPerSecond
        timeScale = try c.decodeIfPresent(Double.self, forKey: .timeScale) ?? defaults.timeScale
        checkpoints = try c.decodeIfPresent([ModelFile].self, forKey: .checkpoints) ?? []
        loras = try c.decodeIfPresent([ModelFile].self, forKey: .loras) ?? []
        vaes = try c.decodeIfPresent([ModelFile].self, forKey: .vaes) ?? []
        previews = try c.decodeIfPresent(Bool.self, forKey: .previews) ?? defaults.previews
        previewEverySteps = try c.decodeIfPresent(Int.self, forKey: .previewEverySteps) ?? defaults.previewEverySteps
        previewBytes = try c.decodeIfPresent(Int.self, forKey: .previewBytes)
        maxUploadBytes = try c.decodeIfPresent(Int.self, forKey: .maxUploadBytes) ?? defaults.maxUploadBytes
        faultControl = try c.decodeIfPresent(Bool.self, forKey: .faultControl) ?? defaults.faultControl
        webRoot = try c.decodeIfPresent(String.self, forKey: .webRoot)
        ramTotalBytes = try c.decodeIfPresent(Int64.self, forKey: .ramTotalBytes) ?? defaults.ramTotalBytes
        guard speed > 0 else { throw DecodingError.dataCorruptedError(forKey: .speed, in: c, debugDescription: "speed must be > 0") }
        guard previewEverySteps >= 1 else {
            throw DecodingError.dataCorruptedError(forKey: .previewEverySteps, in: c, debugDescription: "previewEverySteps must be >= 1")
        }
        guard timeScale >= 0 else {
            throw DecodingError.dataCorruptedError(forKey: .timeScale, in: c, debugDescription: "timeScale must be >= 0")
        }
    }

    /// Reads a profile file, naming the file and the bad key on error.
    public static func load(path: String) throws -> NodeProfile {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try JSONDecoder().decode(NodeProfile.self, from: data)
    }

    /// The profile the demo and the README use: an SDXL-class GPU with the seeds' checkpoints.
    public static var example: NodeProfile {
        var profile = NodeProfile()
        profile.name = "sim-4090"
        profile.deviceName = "cuda:0 NVIDIA GeForce RTX 4090 (simulated) : cudaMallocAsync"
        profile.checkpoints = [
            ModelFile(name: "sdxl-动漫二次元_2.0.safetensors", sizeBytes: 6_938_078_334),
            ModelFile(name: "juggernautXL_v9Rundiffusionphoto2.safetensors", sizeBytes: 7_105_350_536),
            ModelFile(name: "v1-5-pruned-emaonly.safetensors", sizeBytes: 4_265_146_304)
        ]
        profile.loras = [ModelFile(name: "add-detail-xl.safetensors", sizeBytes: 228_454_200)]
        return profile
    }
}
