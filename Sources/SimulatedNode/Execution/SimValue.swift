import ComfyWire

/// A value flowing along a link inside the simulated node.
enum SimValue: Sendable {
    case model(checkpoint: String, loras: [String])
    case clip
    case vae
    case conditioning(String)
    case latent(width: Int, height: Int, batch: Int, seed: UInt64)
    case images([RasterImage])
    case mask(RasterImage)
}

/// Why a node stopped: ComfyUI reports these as `execution_error` or `execution_interrupted`.
enum NodeStop: Error {
    case failed(type: String, message: String)
    case interrupted
    /// The node restarted underneath the job: nothing more is reported for it.
    case abandoned
}

/// A node's result kept for reuse by a later prompt with the same inputs.
struct CachedNode: Sendable {
    var outputs: [SimValue]
    var ui: JSONValue?
}
