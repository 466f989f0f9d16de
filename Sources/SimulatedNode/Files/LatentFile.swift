import ComfyWire
import Foundation

/// SaveLatent's `.latent` file: a safetensors file holding `latent_tensor` (batch × 4 × h/8 × w/8, float32) and the
/// empty `latent_format_version_0` marker, with the prompt in its metadata, as ComfyUI writes it. The tensor is
/// zeros; the simulated seed rides in the metadata so LoadLatent gives back the latent SaveLatent was given.
struct LatentFile {
    var width: Int
    var height: Int
    var batch: Int
    var seed: UInt64

    enum Failure: Error, CustomStringConvertible {
        case header(String)
        var description: String {
            switch self {
            case .header(let why): "Error while deserializing header: \(why)"
            }
        }
    }

    func encoded(metadata: [String: String]) -> Data {
        let shape: [JSONValue] = [.int(batch), 4, .int(max(1, height / 8)), .int(max(1, width / 8))]
        let bytes = batch * 4 * max(1, height / 8) * max(1, width / 8) * 4
        var meta = JSONObject(metadata.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value)) })
        meta["simulated_seed"] = .string(String(seed))
        let header: JSONValue = [
            "__metadata__": .object(meta),
            "latent_format_version_0": ["dtype": "F32", "shape": [0], "data_offsets": [.int(bytes), .int(bytes)]],
            "latent_tensor": ["dtype": "F32", "shape": .array(shape), "data_offsets": [0, .int(bytes)]]
        ]
        var text = Array(header.jsonString(.compact).utf8)
        while text.count % 8 != 0 { text.append(0x20) }  // safetensors pads its header with spaces
        var data = Data()
        withUnsafeBytes(of: UInt64(text.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: text)
        data.append(Data(count: bytes))
        return data
    }

    init(width: Int, height: Int, batch: Int, seed: UInt64) {
        self.width = width
        self.height = height
        self.batch = batch
        self.seed = seed
    }

    /// Reads a file as `safetensors.torch.load_file` would, failing as it does on anything else.
    init(decoding data: Data) throws(Failure) {
        guard data.count >= 8 else { throw .header("HeaderTooSmall") }
        let length = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard length <= UInt64(data.count - 8) else { throw .header("HeaderTooLarge") }
        guard let header = try? JSONValue(parsing: String(decoding: data.dropFirst(8).prefix(Int(length)), as: UTF8.self)),
            let shape = header["latent_tensor"]?["shape"]?.arrayValue?.compactMap(\.intValue), shape.count == 4
        else { throw .header("InvalidHeaderDeserialization") }
        self.init(
            width: shape[3] * 8, height: shape[2] * 8, batch: shape[0],
            seed: header["__metadata__"]?["simulated_seed"]?.stringValue.flatMap { UInt64($0) } ?? 0)
    }
}
