import ComfyWire

/// A file a node reported in its UI output (`{"filename", "subfolder", "type"}`), as `/view` serves it.
public struct OutputFile: Sendable, Hashable {
    /// The graph node that produced it.
    public var nodeID: String
    public var filename: String
    public var subfolder: String
    /// `output`, `temp` or `input`.
    public var type: String

    public init(nodeID: String, filename: String, subfolder: String, type: String) {
        self.nodeID = nodeID
        self.filename = filename
        self.subfolder = subfolder
        self.type = type
    }

    /// `subfolder/filename`, or the filename alone.
    public var path: String { subfolder.isEmpty ? filename : "\(subfolder)/\(filename)" }

    /// Every file entry in one node's UI output (`images`, `gifs`, `video`, `audio`, `3d`, …).
    public static func all(in output: JSONValue, nodeID: String) -> [OutputFile] {
        var files: [OutputFile] = []
        func walk(_ value: JSONValue) {
            switch value {
            case .object(let object):
                if let filename = object["filename"]?.stringValue {
                    files.append(
                        OutputFile(
                            nodeID: nodeID, filename: filename, subfolder: object["subfolder"]?.stringValue ?? "",
                            type: object["type"]?.stringValue ?? "output"))
                } else {
                    object.values.forEach(walk)
                }
            case .array(let items):
                items.forEach(walk)
            default:
                break
            }
        }
        walk(output)
        return files
    }

    /// Every file of a history entry's `outputs`, node by node.
    public static func all(in outputs: JSONObject) -> [OutputFile] {
        outputs.keys.sorted(by: Durations.nodeIDOrder).flatMap { all(in: outputs[$0] ?? .null, nodeID: $0) }
    }
}
