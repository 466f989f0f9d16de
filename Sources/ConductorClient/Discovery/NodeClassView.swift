import ComfyWire
import Foundation

/// `conductor nodes` for people: the class list, or one class's inputs and outputs.
public enum NodeClassView {
    /// One row per class, sorted by name; `search` keeps classes whose name, display name or category contains it.
    public static func list(_ classes: JSONObject, search: String?, width: Int?) -> [String] {
        var table = Table([.init("CLASS"), .init("DISPLAY NAME", flexible: true), .init("CATEGORY", flexible: true)])
        var count = 0
        for name in classes.keys.sorted(by: { $0.lowercased() < $1.lowercased() }) {
            let info = classes[name] ?? .null
            let display = info["display_name"]?.stringValue ?? name
            let category = info["category"]?.stringValue ?? ""
            if let search, ![name, display, category].contains(where: { $0.localizedCaseInsensitiveContains(search) }) { continue }
            table.append([name, display, category])
            count += 1
        }
        if count == 0 { return [search.map { "No node class matches \"\($0)\"." } ?? "The server has no node classes."] }
        return table.render(width: width) + [
            "\(count) node \(count == 1 ? "class" : "classes"); `conductor nodes CLASS` shows one's inputs and outputs."
        ]
    }

    /// A class's description, inputs (type, whether required, default and range or options) and outputs.
    public static func detail(name: String, info: JSONValue, width: Int?) -> [String] {
        var lines: [String] = []
        let display = info["display_name"]?.stringValue ?? name
        lines.append(display == name ? name : "\(name) — \(display)")
        var facts: [String] = []
        if let category = info["category"]?.stringValue, !category.isEmpty { facts.append("category: \(category)") }
        if let module = info["python_module"]?.stringValue, !module.isEmpty { facts.append("module: \(module)") }
        if info["output_node"]?.boolValue == true { facts.append("output node") }
        if info["deprecated"]?.boolValue == true { facts.append("deprecated") }
        if !facts.isEmpty { lines.append(facts.joined(separator: " · ")) }
        if let description = info["description"]?.stringValue, !description.isEmpty { lines.append(description) }
        lines.append("")
        lines.append("Inputs")
        var inputs = Table([.init("  NAME"), .init("TYPE"), .init("KIND"), .init("ACCEPTS", flexible: true)])
        for group in ["required", "optional"] {
            guard let declared = info["input"]?[group]?.objectValue else { continue }
            let order = info["input_order"]?[group]?.arrayValue?.compactMap(\.stringValue) ?? declared.keys
            for inputName in order + declared.keys.filter({ !order.contains($0) }) {
                guard let config = declared[inputName] else { continue }
                let (type, accepts) = describe(config)
                inputs.append(["  " + inputName, type, group, accepts])
            }
        }
        lines += inputs.rows.isEmpty ? ["  none"] : inputs.render(width: width).dropFirst().map { $0 }
        lines.append("")
        lines.append("Outputs")
        let types = info["output"]?.arrayValue?.map { $0.stringValue ?? "*" } ?? []
        let names = info["output_name"]?.arrayValue?.map { $0.stringValue ?? "" } ?? []
        var outputs = Table([.init("  #"), .init("TYPE"), .init("NAME")])
        for (index, type) in types.enumerated() {
            let outputName = names.indices.contains(index) ? names[index] : type
            outputs.append(["  \(index)", type, outputName == type ? "" : outputName])
        }
        lines += outputs.rows.isEmpty ? ["  none"] : outputs.render(width: width).dropFirst().map { $0 }
        return lines
    }

    /// The type of an input config (`["INT", {...}]`, `[[options], {...}]`, `["COMBO", {"options": …}]`)
    /// and what it accepts: a default and range, or the options.
    static func describe(_ config: JSONValue) -> (type: String, accepts: String) {
        let options = config[1]?.objectValue ?? [:]
        func literal(_ value: JSONValue?) -> String? {
            switch value {
            case .string(let s)?: "\"\(s)\""
            case .number(let n)?: n.literal
            case .bool(let b)?: String(b)
            default: nil
            }
        }
        var parts: [String] = []
        let type: String
        var choices: [String]?
        switch config[0] {
        case .array(let values)?:
            type = "COMBO"
            choices = values.map { $0.stringValue ?? $0.jsonString(.compact) }
        case .string("COMBO")?:
            type = "COMBO"
            choices = options["options"]?.arrayValue?.map { $0.stringValue ?? $0.jsonString(.compact) } ?? []
        case .string(let name)?:
            type = name
        default:
            type = "*"
        }
        if let value = literal(options["default"]) { parts.append("default \(value)") }
        let low = literal(options["min"]), high = literal(options["max"])
        if low != nil || high != nil { parts.append("\(low ?? "…")…\(high ?? "…")") }
        if let step = literal(options["step"]) { parts.append("step \(step)") }
        if options["multiline"]?.boolValue == true { parts.append("multiline") }
        if options.keys.contains(where: { $0.hasSuffix("_upload") }) { parts.append("file upload") }
        if let choices {
            let shown = choices.prefix(6).joined(separator: ", ")
            parts.append(choices.isEmpty ? "no options" : shown + (choices.count > 6 ? ", … (\(choices.count) options)" : ""))
        }
        return (type, parts.joined(separator: "; "))
    }
}
