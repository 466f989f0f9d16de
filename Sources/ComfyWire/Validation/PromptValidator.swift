/// ComfyUI's `validate_prompt`: which outputs run, and the 400 body when none can.
///
/// Pure: the catalog, the combo lists and a file-existence check come in; no I/O happens here.
public struct PromptValidator: Sendable {
    public let catalog: [String: NodeClass]
    public let context: CatalogContext
    /// Whether an (annotated) input file exists, for LoadImage's own validation.
    public let fileExists: @Sendable (String) -> Bool

    public init(catalog: [String: NodeClass], context: CatalogContext, fileExists: @escaping @Sendable (String) -> Bool) {
        self.catalog = catalog
        self.context = context
        self.fileExists = fileExists
    }

    public enum Outcome: Sendable {
        /// Runs `outputs`; `prompt` carries ComfyUI's coerced literals; `nodeErrors` may be non-empty.
        case accepted(prompt: JSONValue, outputs: [String], nodeErrors: JSONObject)
        /// The 400 body: `{"error": {...}, "node_errors": {...}}`.
        case rejected(JSONValue)

        /// Whether any output was refused (the whole prompt, or some outputs with `node_errors`).
        public var hasErrors: Bool {
            if case .accepted(_, _, let errors) = self { !errors.isEmpty } else { true }
        }
    }

    public static func error(_ type: String, _ message: String, _ details: String, _ extra: JSONObject = [:]) -> JSONObject {
        ["type": .string(type), "message": .string(message), "details": .string(details), "extra_info": .object(extra)]
    }

    static func rejection(_ error: JSONObject, nodeErrors: JSONObject = [:]) -> Outcome {
        .rejected(["error": .object(error), "node_errors": .object(nodeErrors)])
    }

    public func validate(_ prompt: JSONValue, partialExecutionTargets: [String]? = nil) -> Outcome {
        guard let graph = try? PromptGraph(json: prompt) else {
            return Self.rejection(Self.error("invalid_prompt", "Cannot execute because the prompt is not an object.", "", [:]))
        }
        for node in graph.nodes {
            guard let classType = node.classType else {
                return Self.rejection(
                    Self.error(
                        "invalid_prompt", "Cannot execute because a node is missing the class_type property.",
                        "Node ID '#\(node.id)'"))
            }
            if catalog[classType] == nil {
                return Self.rejection(
                    Self.error(
                        "invalid_prompt", "Cannot execute because node \(classType) does not exist.",
                        "Node ID '#\(node.id)'"))
            }
        }
        var outputs = graph.nodes.filter { catalog[$0.classType!]!.isOutputNode }.map(\.id)
        if let targets = partialExecutionTargets { outputs = outputs.filter { targets.contains($0) } }
        guard !outputs.isEmpty else {
            return Self.rejection(Self.error("prompt_no_outputs", "Prompt has no outputs", ""))
        }

        var run = ValidationRun(validator: self, graph: graph)
        var good: [String] = []
        var outputReasons: [JSONObject] = []
        var nodeErrors = JSONObject()
        for output in outputs {
            let valid: Bool
            let reasons: [JSONObject]
            do {
                (valid, reasons) = try run.validate(output)
            } catch is ValidationRun.TooDeep {
                // Python's recursion limit, which ComfyUI meets on such a chain: an error, not a crashed process.
                valid = false
                reasons = [
                    Self.error(
                        "exception_during_validation", "Exception when validating node",
                        "maximum recursion depth exceeded (links more than \(ValidationRun.maximumDepth) deep)",
                        ["exception_type": "RecursionError", "traceback": []])
                ]
                run.results[output] = (false, reasons)
                if !run.order.contains(output) { run.order.append(output) }
            } catch let failure as ValidationRun.MissingNode {
                valid = false
                reasons = [
                    Self.error(
                        "exception_during_validation", "Exception when validating node", "'\(failure.id)'",
                        [
                            "exception_type": "KeyError",
                            "traceback": [
                                "  File \"COMFYUI/execution.py\", line 1043, in validate_prompt\n    <simulated>\n",
                                "  File \"COMFYUI/execution.py\", line 818, in validate_inputs\n    <simulated>\n"
                            ]
                        ])
                ]
                run.results[output] = (false, reasons)
                if !run.order.contains(output) { run.order.append(output) }
            } catch {
                valid = false
                reasons = []
            }
            if valid {
                good.append(output)
                continue
            }
            outputReasons += reasons
            for id in run.order {
                guard let result = run.results[id], !result.valid, !result.reasons.isEmpty else { continue }
                var entry =
                    nodeErrors[id]?.objectValue ?? [
                        "errors": .array(result.reasons.map(JSONValue.object)),
                        "dependent_outputs": [],
                        "class_type": .string(graph[id]?.classType ?? "")
                    ]
                entry["dependent_outputs"] = .array((entry["dependent_outputs"]?.arrayValue ?? []) + [.string(output)])
                nodeErrors[id] = .object(entry)
            }
        }
        guard !good.isEmpty else {
            let details = outputReasons.map { "\($0["message"]?.stringValue ?? ""): \($0["details"]?.stringValue ?? "")" }
            return Self.rejection(
                Self.error(
                    "prompt_outputs_failed_validation", "Prompt outputs failed validation",
                    details.joined(separator: "\n")),
                nodeErrors: nodeErrors)
        }
        return .accepted(prompt: graph.replacingInputs(run.coerced), outputs: good, nodeErrors: nodeErrors)
    }
}

/// One validation pass with its memo of per-node results, as ComfyUI's `validated` dict.
struct ValidationRun {
    struct MissingNode: Error { let id: String }
    /// A chain of links deeper than `maximumDepth`: validated by recursion, it would overflow the stack.
    struct TooDeep: Error {}
    /// Links followed from an output before giving up (ComfyUI's own limit is Python's recursion limit, 1,000 frames).
    static let maximumDepth = 400
    private var depth = 0

    let validator: PromptValidator
    let graph: PromptGraph
    var results: [String: (valid: Bool, reasons: [JSONObject])] = [:]
    var order: [String] = []
    var coerced: [String: JSONObject] = [:]

    init(validator: PromptValidator, graph: PromptGraph) {
        self.validator = validator
        self.graph = graph
    }

    mutating func validate(_ id: String) throws -> (Bool, [JSONObject]) {
        if let done = results[id] { return (done.valid, done.reasons) }
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maximumDepth else { throw TooDeep() }
        guard let node = graph[id], let classType = node.classType, let nodeClass = validator.catalog[classType] else {
            throw MissingNode(id: id)
        }
        results[id] = (true, [])  // guards against cycles while visiting
        var errors: [JSONObject] = []
        var valid = true
        var inputs = node.inputs
        let context = validator.context
        for (input, isRequired) in nodeClass.required.map({ ($0, true) }) + nodeClass.optional.map({ ($0, false) }) {
            let name = input.name
            let config = nodeClass.inputConfig(input, context: context)
            guard let value = node.inputs[name] else {
                if isRequired {
                    errors.append(
                        PromptValidator.error(
                            "required_input_missing", "Required input is missing", name,
                            ["input_name": .string(name)]))
                    valid = false
                }
                continue
            }
            if case .array(let parts) = value {
                guard parts.count == 2 else {
                    errors.append(
                        PromptValidator.error(
                            "bad_linked_input", "Bad linked input, must be a length-2 list of [node_id, slot_index]", name,
                            ["input_name": .string(name), "input_config": config, "received_value": value]))
                    valid = false
                    continue
                }
                guard case .string(let sourceID) = parts[0], let slot = parts[1].intValue else {
                    errors.append(
                        PromptValidator.error(
                            "exception_during_inner_validation", "Exception when validating inner node",
                            "tuple indices must be integers or slices, not str",
                            [
                                "input_name": .string(name), "input_config": config, "exception_message": "invalid link",
                                "exception_type": "TypeError", "traceback": [], "linked_node": value
                            ]))
                    valid = false
                    continue
                }
                guard let source = graph[sourceID] else { throw MissingNode(id: sourceID) }
                let sourceClass = source.classType.flatMap { validator.catalog[$0] }
                let received = sourceClass.flatMap { slot >= 0 && slot < $0.outputs.count ? $0.outputs[slot].type : nil }
                if case .link(let expected) = input.kind, let received, received != expected, expected != "*", received != "*" {
                    errors.append(
                        PromptValidator.error(
                            "return_type_mismatch", "Return type mismatch between linked nodes",
                            "\(name), received_type(\(received)) mismatch input_type(\(expected))",
                            [
                                "input_name": .string(name), "input_config": config, "received_type": .string(received),
                                "linked_node": value
                            ]))
                    valid = false
                    continue
                }
                let (upstreamValid, _) = try validate(sourceID)
                if !upstreamValid { valid = false }
                continue
            }
            var literal = value
            switch input.kind {
            case .link(let type):
                errors.append(
                    PromptValidator.error(
                        "invalid_input_type", "Failed to convert an input value to a \(type) value",
                        "\(name), \(value.jsonString()), expected a link",
                        ["input_name": .string(name), "input_config": config, "received_value": value]))
                valid = false
                continue
            case .int(_, let min, let max, _):
                guard let number = Self.coerceInt(value) else {
                    errors.append(Self.conversionError("INT", name, value, config))
                    valid = false
                    continue
                }
                literal = .number(number)
                if let problem = Self.rangeError(number, min: min.numberValue, max: max.numberValue, name: name, config: config) {
                    errors.append(problem)
                    valid = false
                    continue
                }
            case .float(_, let min, let max, _, _):
                guard let double = Self.coerceDouble(value) else {
                    errors.append(Self.conversionError("FLOAT", name, value, config))
                    valid = false
                    continue
                }
                let number = value.numberValue.flatMap { $0.isInteger ? nil : $0 } ?? JSONNumber(double)
                literal = .number(number)
                if let problem = Self.rangeError(number, min: JSONNumber(min), max: JSONNumber(max), name: name, config: config) {
                    errors.append(problem)
                    valid = false
                    continue
                }
            case .string:
                if case .string = value {} else if case .number(let n) = value { literal = .string(n.literal) }
            case .boolean:
                if case .bool = value {} else { literal = .bool(value != .null && value != .bool(false) && value != .int(0)) }
            case .combo(let source, _):
                if nodeClass.customValidated.contains(name) { break }
                let options = nodeClass.options(source, context: context)
                guard case .string(let chosen) = value, options.contains(chosen) else {
                    let listInfo =
                        options.count > 20
                        ? "(list of length \(options.count))"
                        : "[" + options.map { "'\($0)'" }.joined(separator: ", ") + "]"
                    errors.append(
                        PromptValidator.error(
                            "value_not_in_list", "Value not in list",
                            "\(name): '\(value.stringValue ?? value.jsonString())' not in \(listInfo)",
                            [
                                "input_name": .string(name), "input_config": options.count > 20 ? .null : config,
                                "received_value": value
                            ]))
                    valid = false
                    continue
                }
            }
            if nodeClass.customValidated.contains(name) {
                let file = value.stringValue ?? ""
                if !validator.fileExists(file) {
                    errors.append(
                        PromptValidator.error(
                            "custom_validation_failed", "Custom validation failed for node",
                            "\(name) - Invalid \(nodeClass.name == "LoadLatent" ? "latent" : "image") file: \(file)",
                            ["input_name": .string(name)]))
                    valid = false
                    continue
                }
            }
            if literal != value { inputs[name] = literal }
        }
        if inputs != node.inputs { coerced[id] = inputs }
        results[id] = (valid && errors.isEmpty, errors)
        order.append(id)
        return (valid && errors.isEmpty, errors)
    }

    static func coerceInt(_ value: JSONValue) -> JSONNumber? {
        switch value {
        case .number(let n):
            if n.isInteger { return n }
            guard let d = n.double, d.isFinite else { return nil }
            return JSONNumber(literal: integerText(d.rounded(.towardZero)))
        case .string(let s):
            return Int64(s.trimmingSpaces).map { JSONNumber($0) } ?? UInt64(s.trimmingSpaces).map { JSONNumber($0) }
        case .bool(let b): return JSONNumber(b ? 1 : 0)
        default: return nil
        }
    }

    /// The exact decimal text of a whole, finite double, as Python's `int(1e30)` gives it
    /// (`1000000000000000019884624838656`); beyond Int64 it does not fit any Swift integer.
    static func integerText(_ whole: Double) -> String {
        if let exact = Int64(exactly: whole) { return String(exact) }
        // |whole| >= 2^63, so it is significand × 2^(exponent - 52): double it up in base-10^9 limbs.
        let base: UInt64 = 1_000_000_000
        let significand = whole.significandBitPattern | (1 << 52)
        var limbs = [significand % base, significand / base]  // least significant first
        for _ in 0..<(Int(whole.exponent) - 52) {
            var carry: UInt64 = 0
            for i in limbs.indices {
                let doubled = limbs[i] * 2 + carry
                limbs[i] = doubled % base
                carry = doubled / base
            }
            if carry > 0 { limbs.append(carry) }
        }
        while limbs.count > 1, limbs.last == 0 { limbs.removeLast() }
        var text = (whole < 0 ? "-" : "") + String(limbs[limbs.count - 1])
        for limb in limbs.dropLast().reversed() {
            let digits = String(limb)
            text += String(repeating: "0", count: 9 - digits.count) + digits
        }
        return text
    }

    static func coerceDouble(_ value: JSONValue) -> Double? {
        switch value {
        case .number(let n): n.double
        case .string(let s): Double(s.trimmingSpaces)
        case .bool(let b): b ? 1 : 0
        default: nil
        }
    }

    static func conversionError(_ type: String, _ name: String, _ value: JSONValue, _ config: JSONValue) -> JSONObject {
        PromptValidator.error(
            "invalid_input_type", "Failed to convert an input value to a \(type) value",
            "\(name), \(value.stringValue ?? value.jsonString()), invalid literal",
            ["input_name": .string(name), "input_config": config, "received_value": value])
    }

    /// Compares as ComfyUI does, exactly for integers (seeds reach UInt64.max) and as doubles otherwise.
    static func rangeError(_ value: JSONNumber, min: JSONNumber?, max: JSONNumber?, name: String, config: JSONValue) -> JSONObject? {
        func less(_ a: JSONNumber, _ b: JSONNumber) -> Bool {
            if a.isInteger, b.isInteger {
                if let x = a.int64, let y = b.int64 { return x < y }
                if let x = a.uint64, let y = b.uint64 { return x < y }
                return integerLess(a.literal, b.literal)
            }
            return (a.double ?? 0) < (b.double ?? 0)
        }
        let extra: JSONObject = ["input_name": .string(name), "input_config": config, "received_value": .number(value)]
        if let min, less(value, min) {
            return PromptValidator.error("value_smaller_than_min", "Value \(value.literal) smaller than min of \(min.literal)", name, extra)
        }
        if let max, less(max, value) {
            return PromptValidator.error("value_bigger_than_max", "Value \(value.literal) bigger than max of \(max.literal)", name, extra)
        }
        return nil
    }
}

extension ValidationRun {
    /// `a < b` for integer literals of any length, as Python compares ints; JSON integers have no
    /// leading zeros, so a longer magnitude is a larger one. `NaN`/`Infinity` only by sign, as before.
    static func integerLess(_ a: String, _ b: String) -> Bool {
        let aMinus = a.hasPrefix("-"), bMinus = b.hasPrefix("-")
        let x = a.utf8.dropFirst(aMinus ? 1 : 0), y = b.utf8.dropFirst(bMinus ? 1 : 0)
        func isDigits(_ text: Substring.UTF8View) -> Bool {
            !text.isEmpty && text.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        }
        guard isDigits(x), isDigits(y) else { return aMinus && !bMinus }
        let aNegative = aMinus && !x.elementsEqual("0".utf8), bNegative = bMinus && !y.elementsEqual("0".utf8)
        guard aNegative == bNegative else { return aNegative }
        let magnitudeLess = x.count != y.count ? x.count < y.count : x.lexicographicallyPrecedes(y)
        let magnitudeGreater = x.count != y.count ? x.count > y.count : y.lexicographicallyPrecedes(x)
        return aNegative ? magnitudeGreater : magnitudeLess
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
