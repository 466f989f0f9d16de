import ComfyWire

/// How Conductor names a node's files toward clients: under a subfolder named after the node, so
/// two nodes' `ComfyUI_00001_.png` never collide, and `/view` knows which node to ask.
public enum OutputNames {
    /// Rewrites every file entry (`{"filename", "subfolder", "type"}`) in a UI output or outputs map.
    public static func present(_ value: JSONValue, node: String) -> JSONValue {
        switch value {
        case .object(var object):
            if case .string? = object["filename"], object["type"] != nil {
                let subfolder = object["subfolder"]?.stringValue ?? ""
                object["subfolder"] = .string(subfolder.isEmpty ? node : node + "/" + subfolder)
                return .object(object)
            }
            for (key, inner) in object { object[key] = present(inner, node: node) }
            return .object(object)
        case .array(let items):
            return .array(items.map { present($0, node: node) })
        default:
            return value
        }
    }

    public static func present(_ outputs: JSONObject, node: String) -> JSONObject {
        present(.object(outputs), node: node).objectValue ?? outputs
    }

    /// Splits a client-side subfolder into the node that holds the file and the node's own subfolder.
    public static func resolve(subfolder: String, nodes: [String]) -> (node: String, subfolder: String)? {
        let parts = subfolder.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = parts.first.map(String.init), nodes.contains(first) else { return nil }
        return (first, parts.count > 1 ? String(parts[1]) : "")
    }
}
