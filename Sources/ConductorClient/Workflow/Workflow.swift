import ComfyWire
import Foundation

/// A workflow the CLI submits: an API-format graph, with the `client_id` and `extra_data` of the
/// file when the file is a whole `/prompt` body.
public struct Workflow: Sendable, Hashable {
    /// Node id → `{"class_type", "inputs", "_meta"}`, in the file's order.
    public internal(set) var nodes: JSONObject
    /// The `client_id` of a `/prompt` body file.
    public var clientID: String?
    /// The `extra_data` of a `/prompt` body file (e.g. `extra_pnginfo` with the UI workflow).
    public var extraData: JSONObject

    /// Reads an API-format graph, or a `/prompt` body (`{"prompt": graph, "client_id", "extra_data"}`).
    /// `source` names the file in error messages.
    public init(json: JSONValue, source: String) throws(ClientError) {
        guard case .object(let object) = json else {
            throw .usage("\(source) is not a workflow: it holds a JSON \(json.typeName), not an object of nodes.")
        }
        if case .object(let graph)? = object["prompt"] {
            nodes = graph
            clientID = object["client_id"]?.stringValue
            extraData = object["extra_data"]?.objectValue ?? [:]
        } else if object["nodes"]?.arrayValue != nil, object["links"] != nil {
            throw .usage(
                """
                \(source) is a workflow in ComfyUI's UI format (it has "nodes" and "links").
                The API needs the API format: in ComfyUI, use Workflow → Export (API) and pass that file.
                """)
        } else {
            nodes = object
            clientID = nil
            extraData = [:]
        }
        if nodes.isEmpty { throw .usage("\(source) has no nodes.") }
        for (id, node) in nodes where node["class_type"]?.stringValue == nil {
            throw .usage("\(source): node \(id) has no \"class_type\"; is this an API-format workflow?")
        }
    }

    /// Loads a workflow file (`-` reads standard input).
    public static func load(path: String) throws(ClientError) -> Workflow {
        let data: Data
        do {
            data = path == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .usage("Cannot read the workflow file \(path): \((error as NSError).localizedDescription)")
        }
        let json: JSONValue
        do {
            json = try JSONValue(parsing: data)
        } catch {
            throw .usage("\(path) is not valid JSON: \(error)")
        }
        return try Workflow(json: json, source: path)
    }

    /// The graph as `POST /prompt` takes it.
    public var prompt: JSONValue { .object(nodes) }

    /// A node's `class_type`.
    public func classType(of id: String) -> String? { nodes[id]?["class_type"]?.stringValue }

    /// A node's `_meta.title`, when it has one.
    public func title(of id: String) -> String? { nodes[id]?["_meta"]?["title"]?.stringValue }

    /// How a person recognises a node: `3 "K采样器" (KSampler)`, or `3 (KSampler)` without a title.
    public func label(of id: String) -> String {
        Self.label(id: id, title: title(of: id), classType: classType(of: id))
    }

    static func label(id: String, title: String?, classType: String?) -> String {
        var label = id
        if let title, title != classType { label += " \"\(title)\"" }
        if let classType { label += " (\(classType))" }
        return label
    }

    /// The node a `--set`/`--randomize-node` target names: a node id, else a unique `_meta.title`,
    /// else a unique `class_type`.
    public func resolve(_ target: String) throws(ClientError) -> String {
        if nodes[target] != nil { return target }
        let byTitle = nodes.keys.filter { title(of: $0) == target }
        if byTitle.count == 1 { return byTitle[0] }
        if byTitle.count > 1 {
            throw .usage("The title \"\(target)\" names \(byTitle.count) nodes (\(byTitle.joined(separator: ", "))); use the node id instead.")
        }
        let byClass = nodes.keys.filter { classType(of: $0) == target }
        if byClass.count == 1 { return byClass[0] }
        if byClass.count > 1 {
            throw .usage("\(byClass.count) nodes are \(target) (\(byClass.joined(separator: ", "))); use the node id instead.")
        }
        let known = nodes.keys.map { "  " + label(of: $0) }.joined(separator: "\n")
        throw .usage("No node has the id, title or class \"\(target)\". The workflow's nodes:\n\(known)")
    }
}
