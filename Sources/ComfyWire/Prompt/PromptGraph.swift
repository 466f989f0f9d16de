/// An API-format workflow: node id → `class_type` and `inputs`, inputs being literals or links.
///
/// The graph is a view over the JSON the client sent; `json` gives that JSON back unchanged.
public struct PromptGraph: Sendable, Hashable {
    /// One node of the graph as the client wrote it.
    public struct Node: Sendable, Hashable {
        public let id: String
        /// nil when the node has no string `class_type` (ComfyUI rejects the prompt).
        public let classType: String?
        public let inputs: JSONObject
        /// `_meta.title`, used by ComfyUI only in error messages.
        public let title: String?
    }

    /// One input value: a link `[node_id, output_index]` or a literal.
    public enum Input: Sendable, Hashable {
        case link(nodeID: String, outputIndex: Int)
        case literal(JSONValue)

        /// Classifies a value as the executor does: a link is a 2-element array of a string and an integer.
        public init(_ value: JSONValue) {
            if case .array(let parts) = value, parts.count == 2, case .string(let id) = parts[0],
                let index = parts[1].intValue
            {
                self = .link(nodeID: id, outputIndex: index)
            } else {
                self = .literal(value)
            }
        }
    }

    public enum ParseError: Error, Sendable, Equatable {
        case notAnObject
        case nodeNotAnObject(String)
    }

    public let json: JSONValue
    public let nodes: [Node]
    private let index: [String: Int]

    public init(json: JSONValue) throws(ParseError) {
        guard case .object(let object) = json else { throw .notAnObject }
        var nodes: [Node] = []
        var index: [String: Int] = [:]
        for (id, value) in object {
            guard case .object(let body) = value else { throw .nodeNotAnObject(id) }
            let node = Node(
                id: id,
                classType: body["class_type"]?.stringValue,
                inputs: body["inputs"]?.objectValue ?? JSONObject(),
                title: body["_meta"]?["title"]?.stringValue
            )
            index[id] = nodes.count
            nodes.append(node)
        }
        self.json = json
        self.nodes = nodes
        self.index = index
    }

    public subscript(id: String) -> Node? { index[id].map { nodes[$0] } }

    /// Links feeding `node`, in input order.
    public func links(of node: Node) -> [(input: String, nodeID: String, outputIndex: Int)] {
        node.inputs.compactMap { name, value in
            if case .link(let id, let output) = Input(value) { return (name, id, output) }
            return nil
        }
    }

    /// Node ids in execution order for the given outputs: every ancestor before its dependents.
    /// Returns nil when the reachable part has a cycle or links to a node that does not exist.
    public func executionOrder(outputs: [String]) -> [String]? {
        var order: [String] = []
        var state: [String: Bool] = [:]  // false: visiting, true: done
        func visit(_ id: String) -> Bool {
            if let done = state[id] { return done }
            guard let node = self[id] else { return false }
            state[id] = false
            for link in links(of: node) where !visit(link.nodeID) { return false }
            state[id] = true
            order.append(id)
            return true
        }
        for output in outputs where !visit(output) { return nil }
        return order
    }

    /// Rebuilds the JSON with some node inputs replaced, keeping everything else (order, `_meta`, extra keys).
    public func replacingInputs(_ replacements: [String: JSONObject]) -> JSONValue {
        guard case .object(var object) = json else { return json }
        for (id, inputs) in replacements {
            guard case .object(var body)? = object[id] else { continue }
            body["inputs"] = .object(inputs)
            object[id] = .object(body)
        }
        return .object(object)
    }
}
