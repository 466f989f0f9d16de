extension NodeClass {
    /// Reads a class from its `/object_info` entry (V1 or V3 shape), so a coordinator can validate
    /// prompts against what its nodes actually offer. Combo options become fixed lists; inputs with
    /// an upload widget (`image_upload`, …) are left to the node, since files differ per node.
    public init?(name: String, objectInfo info: JSONValue) {
        guard case .object(let object) = info else { return nil }
        func inputs(_ group: String) -> [Input] {
            guard case .object(let declared)? = object["input"]?[group] else { return [] }
            return declared.map { Input(name: $0.key, kind: Self.kind(of: $0.value)) }
        }
        var customValidated = Set<String>()
        for group in ["required", "optional"] {
            for (inputName, config) in object["input"]?[group]?.objectValue ?? [:] {
                let options = config[1]?.objectValue ?? [:]
                if options.keys.contains(where: { $0.hasSuffix("_upload") }) { customValidated.insert(inputName) }
            }
        }
        let types = object["output"]?.arrayValue?.map { $0.stringValue ?? "*" } ?? []
        let names = object["output_name"]?.arrayValue?.map { $0.stringValue ?? "" } ?? types
        self.init(
            name: name,
            displayName: object["display_name"]?.stringValue ?? name,
            category: object["category"]?.stringValue ?? "",
            description: object["description"]?.stringValue ?? "",
            pythonModule: object["python_module"]?.stringValue ?? "",
            required: inputs("required"),
            optional: inputs("optional"),
            hidden: object["input"]?["hidden"]?.objectValue ?? [:],
            outputs: zip(types, names + Array(repeating: "", count: max(0, types.count - names.count))).map { ($0, $1) },
            isOutputNode: object["output_node"]?.boolValue ?? false,
            customValidated: customValidated)
    }

    static func kind(of config: JSONValue) -> InputKind {
        let options = config[1]?.objectValue ?? [:]
        switch config[0] {
        case .array(let values)?:
            return .combo(.fixed(values.compactMap { $0.stringValue ?? $0.numberValue?.literal }), extra: options)
        case .string("INT")?:
            return .int(
                default: options["default"] ?? 0, min: options["min"] ?? .number(JSONNumber(Int64.min)),
                max: options["max"] ?? .number(JSONNumber(UInt64.max)), extra: options)
        case .string("FLOAT")?:
            return .float(
                default: options["default"]?.doubleValue ?? 0, min: options["min"]?.doubleValue ?? -Double.greatestFiniteMagnitude,
                max: options["max"]?.doubleValue ?? Double.greatestFiniteMagnitude, step: options["step"]?.doubleValue ?? 0.01,
                extra: options)
        case .string("STRING")?:
            return .string(default: options["default"]?.stringValue, extra: options)
        case .string("BOOLEAN")?:
            return .boolean(default: options["default"]?.boolValue ?? false)
        case .string("COMBO")?:
            let values = options["options"]?.arrayValue?.compactMap { $0.stringValue ?? $0.numberValue?.literal } ?? []
            return .combo(.fixed(values), extra: options)
        case .string(let type)?:
            return .link(type)
        default:
            return .link("*")
        }
    }
}
