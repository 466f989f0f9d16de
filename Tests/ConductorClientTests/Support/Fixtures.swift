import ComfyWire
import ConductorClient
import ConductorTesting
import Foundation
import SimulatedNode

/// Workflows and files the CLI tests feed the executable.
enum Fixtures {
    static let sdxl = "sdxl-动漫二次元_2.0.safetensors"
    static let sd15 = "v1-5-pruned-emaonly.safetensors"

    /// The seed workflow's shape with titles, as ComfyUI's "Export (API)" writes it.
    static func workflow(checkpoint: String = sdxl, steps: Int = 4, seed: Int = 1, size: Int = 64) -> JSONValue {
        guard case .object(var nodes) = TestFleet.prompt(checkpoint: checkpoint, seed: seed, steps: steps, size: size) else { return .null }
        let titles = ["3": "Sampler", "4": "Load Checkpoint", "6": "Positive Prompt", "7": "Negative Prompt", "9": "Save Image"]
        for (id, title) in titles {
            guard case .object(var node)? = nodes[id] else { continue }
            node["_meta"] = ["title": .string(title)]
            nodes[id] = .object(node)
        }
        return .object(nodes)
    }

    /// Writes a workflow into `directory` and returns its path.
    static func write(_ workflow: JSONValue, in directory: URL, name: String = "workflow.json") throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(workflow.serialized(.python)).write(to: url)
        return url.path
    }

    /// A small PNG for uploads.
    static func png(width: Int = 8, height: Int = 8, color: Int = 0x3366CC) -> [UInt8] {
        PNG.encode(RasterImage.solid(width: width, height: height, color: color))
    }
}
