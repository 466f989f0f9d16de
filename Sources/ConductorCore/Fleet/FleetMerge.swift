import ComfyWire

/// How the fleet's discovery answers combine into the one a single ComfyUI would give.
public enum FleetMerge {
    /// One class's `/object_info` entry from two nodes: the first's, with combo lists united.
    public static func mergeClass(_ first: JSONValue, _ second: JSONValue) -> JSONValue {
        guard case .object(var merged) = first, case .object(var input)? = first["input"] else { return first }
        for group in ["required", "optional"] {
            guard case .object(var declared)? = input[group] else { continue }
            for (name, config) in declared {
                guard case .array(let firstValues)? = config[0], case .array(let otherValues)? = second["input"]?[group]?[name]?[0]
                else { continue }
                var values = firstValues
                for value in otherValues where !values.contains(value) { values.append(value) }
                if case .array(var parts) = config {
                    parts[0] = .array(values)
                    declared[name] = .array(parts)
                }
            }
            input[group] = .object(declared)
        }
        merged["input"] = .object(input)
        return .object(merged)
    }

    /// `/object_info` of the fleet: every class any node has, combo lists united.
    public static func objectInfo(_ answers: [JSONObject]) -> JSONObject {
        var merged = JSONObject()
        for answer in answers {
            for (name, info) in answer {
                merged[name] = merged[name].map { mergeClass($0, info) } ?? info
            }
        }
        return merged
    }

    /// Lists such as `/models/{folder}`, `/embeddings`, `/extensions`: the union, first-seen order;
    /// `sorted` sorts the result as ComfyUI sorts model files.
    public static func union(_ lists: [[JSONValue]], sorted: Bool = false) -> [JSONValue] {
        var seen = Set<JSONValue>()
        var out: [JSONValue] = []
        for list in lists {
            for value in list where seen.insert(value).inserted { out.append(value) }
        }
        if sorted { out.sort { ($0.stringValue ?? "") < ($1.stringValue ?? "") } }
        return out
    }

    /// `/system_stats` of the fleet: Conductor's own `system`, and every node's devices named
    /// `"<node>: <device>"`, in node order.
    public static func systemStats(system: JSONObject, nodes: [(name: String, stats: JSONValue)]) -> JSONValue {
        var devices: [JSONValue] = []
        for (name, stats) in nodes {
            for device in stats["devices"]?.arrayValue ?? [] {
                guard case .object(var object) = device else { continue }
                object["name"] = .string("\(name): \(object["name"]?.stringValue ?? "")")
                devices.append(.object(object))
            }
        }
        return ["system": .object(system), "devices": .array(devices)]
    }
}
