import ComfyWire
import ConductorTesting
import Foundation

/// The real ComfyUI v0.8.0 traffic in `Recordings/` (a copy of shared/comfyui-observed).
enum Recordings {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Recordings")

    static func load(_ kind: String, _ name: String) -> JSONValue {
        let url = root.appendingPathComponent(kind).appendingPathComponent(name + ".json")
        guard let data = try? Data(contentsOf: url), let value = try? JSONValue(parsing: Array(data)) else {
            fatalError("missing recording \(kind)/\(name)")
        }
        return value
    }

    static func http(_ name: String) -> JSONValue { load("http", name) }
    static func ws(_ name: String) -> JSONValue { load("ws", name) }

    static var httpScenarios: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("http").path)) ?? []
        return names.filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
    }

    static var wsScenarios: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("ws").path)) ?? []
        return names.filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
    }

    /// Test bytes standing in for a recorded upload of `count` bytes: a fixed PNG-like header
    /// then a pattern, so equal counts mean equal bytes, as in the recorded session.
    static func uploadBytes(count: Int) -> [UInt8] {
        let header: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        return Array((header + (0..<max(0, count)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ count) }).prefix(count))
    }
}

/// Compares the shape of a response with a recorded one: key sets, value types, and the values
/// that carry meaning (error types and messages, names, statuses).
enum Shape {
    static let exactKeys: Set<String> = [
        "type", "message", "details", "status_str", "completed", "status", "name", "subfolder", "mediaType",
        "input_name", "class_type", "dependent_outputs", "error", "output_node", "output", "output_name",
        "input_order", "category", "display_name"
    ]

    static func isDynamicKey(_ key: String) -> Bool {
        key.count == 36 && key.filter { $0 == "-" }.count == 4
    }

    static func differences(expected: JSONValue, actual: JSONValue, path: String = "$") -> [String] {
        switch (expected, actual) {
        case (.object(let e), .object(let a)):
            if !e.isEmpty, e.keys.allSatisfy(isDynamicKey) || (!a.isEmpty && a.keys.allSatisfy(isDynamicKey) && e.keys.allSatisfy(isDynamicKey)) {
                guard let firstKey = e.keys.first, let sample = e[firstKey] else { return [] }
                if a.isEmpty { return ["\(path): expected entries, got {}"] }
                // Same ids as recorded: compare entry by entry; otherwise against the first recorded entry.
                return a.flatMap { differences(expected: e[$0.key] ?? sample, actual: $0.value, path: "\(path).<\($0.key)>") }
            }
            var out: [String] = []
            let missing = e.keys.filter { a[$0] == nil }
            let extra = a.keys.filter { e[$0] == nil }
            if !missing.isEmpty { out.append("\(path): missing keys \(missing)") }
            if !extra.isEmpty { out.append("\(path): unexpected keys \(extra)") }
            for (key, value) in e {
                guard let other = a[key] else { continue }
                if exactKeys.contains(key), value.typeName != "object", value != other {
                    out.append("\(path).\(key): expected \(value.jsonString()) got \(other.jsonString())")
                    continue
                }
                out += differences(expected: value, actual: other, path: "\(path).\(key)")
            }
            return out
        case (.array(let e), .array(let a)):
            if e.isEmpty || a.isEmpty {
                return e.isEmpty == a.isEmpty ? [] : ["\(path): expected \(e.count) items, got \(a.count)"]
            }
            if e.count == a.count {
                return zip(e, a).enumerated().flatMap { differences(expected: $1.0, actual: $1.1, path: "\(path)[\($0)]") }
            }
            return a.enumerated().flatMap { differences(expected: e[min($0, e.count - 1)], actual: $1, path: "\(path)[\($0)]") }
        default:
            let (et, at) = (expected.typeName, actual.typeName)
            return et == at ? [] : ["\(path): expected \(et) (\(expected.jsonString())), got \(at) (\(actual.jsonString()))"]
        }
    }
}
