import ComfyWire

/// A `POST /prompt` 400: the top-level error and, per node, which input is wrong and why.
public struct PromptRejection: Sendable, CustomStringConvertible {
    /// One problem with one input of one node.
    public struct Problem: Sendable, Hashable {
        public var nodeID: String
        /// `3 "K采样器" (KSampler)`: id, title from the submitted workflow, class.
        public var nodeLabel: String
        /// The input the problem is about, when the server names one.
        public var input: String?
        public var message: String
        public var details: String
    }

    public var type: String
    public var message: String
    public var details: String
    public var problems: [Problem]
    /// The answer as sent.
    public var json: JSONValue
    let server: String
    let extraInfo: JSONObject

    public init(json: JSONValue, workflow: Workflow?, server: String) {
        self.json = json
        self.server = server
        let error = json["error"]
        type = error?["type"]?.stringValue ?? ""
        message = error?["message"]?.stringValue ?? error?.stringValue ?? "the server refused the prompt"
        details = error?["details"]?.stringValue ?? ""
        extraInfo = error?["extra_info"]?.objectValue ?? [:]
        var problems: [Problem] = []
        for (id, entry) in json["node_errors"]?.objectValue ?? [:] {
            let classType = entry["class_type"]?.stringValue ?? workflow?.classType(of: id)
            let label = Workflow.label(id: id, title: workflow?.title(of: id), classType: classType)
            for problem in entry["errors"]?.arrayValue ?? [] {
                problems.append(
                    Problem(
                        nodeID: id, nodeLabel: label, input: problem["extra_info"]?["input_name"]?.stringValue,
                        message: problem["message"]?.stringValue ?? "invalid",
                        details: problem["details"]?.stringValue ?? ""))
            }
        }
        self.problems = problems
    }

    /// What the person reads: the reason, each node's problems, and what to try.
    public var description: String {
        var lines = ["\(server) rejected the workflow: \(message)."]
        if problems.isEmpty {
            if type == "missing_node_type" || type == "invalid_prompt", let classType = extraInfo["class_type"]?.stringValue {
                let node = extraInfo["node_id"]?.stringValue.map { "node \($0)" } ?? "a node"
                lines.append("  \(node) uses the class \(classType), which this server does not have.")
                lines.append("List the classes it has with `conductor nodes`; install the custom node that provides \(classType), or replace it.")
            } else if !details.isEmpty {
                lines.append("  " + details)
            }
            return lines.joined(separator: "\n")
        }
        var lastNode: String?
        for problem in problems {
            if problem.nodeID != lastNode {
                lines.append("  node \(problem.nodeLabel):")
                lastNode = problem.nodeID
            }
            var line = "    " + (problem.input.map { "\($0): " } ?? "") + problem.message
            if !problem.details.isEmpty, problem.details != problem.message, problem.details != problem.input { line += " — " + problem.details }
            lines.append(line)
        }
        if let first = problems.first(where: { $0.input != nil }), let input = first.input {
            lines.append(
                "Fix the input in the workflow file or with --set \(first.nodeID).\(input)=VALUE; "
                    + "`conductor nodes CLASS` shows what an input accepts, `conductor models checkpoints` the checkpoints.")
        }
        return lines.joined(separator: "\n")
    }
}
