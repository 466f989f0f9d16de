import ComfyWire
import Foundation

/// One `--set NODE.INPUT=VALUE`: a node named by id, `_meta.title` or class, one of its inputs, and the new value.
public struct InputAssignment: Sendable, Hashable {
    /// The node id, title or class, as typed.
    public var target: String
    public var input: String
    /// The value as typed; it takes the type of the input's current value.
    public var value: String

    public init(target: String, input: String, value: String) {
        self.target = target
        self.input = input
        self.value = value
    }

    /// Splits at the first `=` (values may contain `=`), then at the last `.` before it (titles may contain `.`).
    public init(parsing text: String) throws(ClientError) {
        guard let equals = text.firstIndex(of: "=") else {
            throw .usage("--set \(text): expected NODE.INPUT=VALUE, e.g. --set 6.text=\"a cat\" or --set \"Positive Prompt.text=a cat\"")
        }
        let path = text[..<equals]
        guard let dot = path.lastIndex(of: "."), dot != path.startIndex, path.index(after: dot) != path.endIndex else {
            throw .usage("--set \(text): name the node and the input as NODE.INPUT, e.g. 6.text or \"Positive Prompt.text\"")
        }
        self.init(
            target: String(path[..<dot]), input: String(path[path.index(after: dot)...]),
            value: String(text[text.index(after: equals)...]))
    }
}

extension Workflow {
    /// Sets one input, converting the text to the type of the value it replaces: a number stays a
    /// number, a boolean a boolean, a string takes the text as is. Returns the node id it changed.
    @discardableResult
    public mutating func apply(_ assignment: InputAssignment) throws(ClientError) -> String {
        let id = try resolve(assignment.target)
        guard case .object(var node)? = nodes[id] else { return id }
        var inputs = node["inputs"]?.objectValue ?? [:]
        let setting = "--set \(assignment.target).\(assignment.input)"
        guard let current = inputs[assignment.input] else {
            let names = inputs.keys.joined(separator: ", ")
            throw .usage("\(setting): node \(label(of: id)) has no input \"\(assignment.input)\". Its inputs: \(names.isEmpty ? "none" : names)")
        }
        let newValue: JSONValue
        switch PromptGraph.Input(current) {
        case .link(let source, let output):
            throw .usage("\(setting): that input is a link from node \(source) (output \(output)); --set changes literal values only.")
        case .literal(.number):
            guard let number = Self.number(assignment.value) else {
                throw .usage("\(setting): \"\(assignment.value)\" is not a number, and the input holds one (\(current.jsonString(.compact))).")
            }
            newValue = .number(number)
        case .literal(.bool):
            switch assignment.value.lowercased() {
            case "true", "1", "yes", "on": newValue = .bool(true)
            case "false", "0", "no", "off": newValue = .bool(false)
            default: throw .usage("\(setting): expected true or false, got \"\(assignment.value)\".")
            }
        case .literal(.string), .literal(.null):
            newValue = .string(assignment.value)
        case .literal:
            guard let parsed = try? JSONValue(parsing: assignment.value) else {
                throw .usage("\(setting): the input holds \(current.typeName) JSON; give the new value as JSON.")
            }
            newValue = parsed
        }
        inputs[assignment.input] = newValue
        node["inputs"] = .object(inputs)
        nodes[id] = .object(node)
        return id
    }

    /// A JSON number literal for the text, or nil (`0x…`, `1_000`, `NaN` are refused as JSON would).
    static func number(_ text: String) -> JSONNumber? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let value = try? JSONValue(parsing: trimmed), case .number(let number) = value else { return nil }
        return number
    }
}
