/// One node class as `/object_info` describes it: inputs, outputs, and what validation checks.
public struct NodeClass: Sendable {
    /// Where a combo input's options come from.
    public enum ComboSource: Sendable {
        case fixed([String])
        case checkpoints
        case loras
        case vaes
        /// Top-level image files of the input directory, as LoadImage lists them.
        case inputImages
        /// Top-level files of the input directory whose name ends in `suffix`, as LoadLatent lists `.latent` files.
        case inputFiles(suffix: String)
    }

    /// The declared type of one input.
    public enum InputKind: Sendable {
        /// A link from another node's output of this type (MODEL, IMAGE, …).
        case link(String)
        case int(default: JSONValue, min: JSONValue, max: JSONValue, extra: JSONObject = [:])
        case float(default: Double, min: Double, max: Double, step: Double, extra: JSONObject = [:])
        case string(default: String?, extra: JSONObject = [:])
        case boolean(default: Bool)
        case combo(ComboSource, extra: JSONObject = [:])
    }

    public struct Input: Sendable {
        public let name: String
        public let kind: InputKind

        public init(name: String, kind: InputKind) {
            self.name = name
            self.kind = kind
        }
    }

    public let name: String
    public let displayName: String
    public let category: String
    public let description: String
    public let pythonModule: String
    public let required: [Input]
    public let optional: [Input]
    public let hidden: JSONObject
    public let outputs: [(type: String, name: String)]
    public let isOutputNode: Bool
    /// Inputs checked by the class's own `VALIDATE_INPUTS` instead of the combo/min/max checks.
    public let customValidated: Set<String>

    public init(
        name: String, displayName: String, category: String, description: String, pythonModule: String,
        required: [Input], optional: [Input], hidden: JSONObject, outputs: [(type: String, name: String)],
        isOutputNode: Bool, customValidated: Set<String>
    ) {
        self.name = name
        self.displayName = displayName
        self.category = category
        self.description = description
        self.pythonModule = pythonModule
        self.required = required
        self.optional = optional
        self.hidden = hidden
        self.outputs = outputs
        self.isOutputNode = isOutputNode
        self.customValidated = customValidated
    }

    public func input(named name: String) -> Input? {
        required.first { $0.name == name } ?? optional.first { $0.name == name }
    }
}

/// What an `/object_info` entry's combo lists are filled from.
public struct CatalogContext: Sendable {
    public var checkpoints: [String]
    public var loras: [String]
    public var vaes: [String]
    public var inputImages: [String]
    /// Every top-level file of the input directory, sorted.
    public var inputFiles: [String]

    public init(
        checkpoints: [String] = [], loras: [String] = [], vaes: [String] = [], inputImages: [String] = [],
        inputFiles: [String] = []
    ) {
        self.checkpoints = checkpoints
        self.loras = loras
        self.vaes = vaes
        self.inputImages = inputImages
        self.inputFiles = inputFiles
    }
}

extension NodeClass {
    /// The `["INT", {...}]`-style declaration of one input, as `/object_info` and validation errors show it.
    public func inputConfig(_ input: Input, context: CatalogContext) -> JSONValue {
        switch input.kind {
        case .link(let type):
            return [.string(type)]
        case .int(let def, let min, let max, let extra):
            var options: JSONObject = ["default": def, "min": min, "max": max]
            for (k, v) in extra { options[k] = v }
            return ["INT", .object(options)]
        case .float(let def, let min, let max, let step, let extra):
            var options: JSONObject = ["default": .double(def), "min": .double(min), "max": .double(max), "step": .double(step)]
            for (k, v) in extra { options[k] = v }
            return ["FLOAT", .object(options)]
        case .string(let def, let extra):
            var options = JSONObject()
            if let def { options["default"] = .string(def) }
            for (k, v) in extra { options[k] = v }
            return options.isEmpty ? ["STRING"] : ["STRING", .object(options)]
        case .boolean(let def):
            return ["BOOLEAN", ["default": .bool(def)]]
        case .combo(let source, let extra):
            let values = options(source, context: context).map(JSONValue.string)
            return extra.isEmpty ? [.array(values)] : [.array(values), .object(extra)]
        }
    }

    public func options(_ source: ComboSource, context: CatalogContext) -> [String] {
        switch source {
        case .fixed(let values): values
        case .checkpoints: context.checkpoints
        case .loras: context.loras
        case .vaes: context.vaes
        case .inputImages: context.inputImages
        case .inputFiles(let suffix): context.inputFiles.filter { $0.hasSuffix(suffix) }
        }
    }

    /// This class's `/object_info` entry (V1 shape, key order as ComfyUI v0.8.0 sends it).
    public func objectInfo(context: CatalogContext) -> JSONValue {
        var input = JSONObject()
        var order = JSONObject()
        if !required.isEmpty || optional.isEmpty {
            input["required"] = .object(JSONObject(required.map { ($0.name, inputConfig($0, context: context)) }))
        }
        if !optional.isEmpty {
            input["optional"] = .object(JSONObject(optional.map { ($0.name, inputConfig($0, context: context)) }))
        }
        if !hidden.isEmpty { input["hidden"] = .object(hidden) }
        order["required"] = .array(required.map { .string($0.name) })
        if !optional.isEmpty { order["optional"] = .array(optional.map { .string($0.name) }) }
        if !hidden.isEmpty { order["hidden"] = .array(hidden.keys.map { .string($0) }) }
        return [
            "input": .object(input),
            "input_order": .object(order),
            "output": .array(outputs.map { .string($0.type) }),
            "output_is_list": .array(outputs.map { _ in .bool(false) }),
            "output_name": .array(outputs.map { .string($0.name) }),
            "name": .string(name),
            "display_name": .string(displayName),
            "description": .string(description),
            "python_module": .string(pythonModule),
            "category": .string(category),
            "output_node": .bool(isOutputNode)
        ]
    }
}
