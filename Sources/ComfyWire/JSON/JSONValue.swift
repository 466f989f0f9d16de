/// A lossless JSON value: numbers keep their literal text and objects keep their key order.
///
/// ComfyUI seeds span the whole UInt64 range and workflows carry unicode titles; a value parsed here
/// and serialized again keeps every number and string exactly as it was sent.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)
}

/// A JSON number stored as its literal text, so no integer or float loses precision in transit.
public struct JSONNumber: Sendable, Hashable, CustomStringConvertible {
    /// The number exactly as it appears in JSON text.
    public let literal: String

    /// Wraps a literal that the caller guarantees is valid JSON number syntax.
    public init(literal: String) { self.literal = literal }
    public init(_ value: Int) { self.literal = String(value) }
    public init(_ value: Int64) { self.literal = String(value) }
    public init(_ value: UInt64) { self.literal = String(value) }
    /// Formats like Python's `repr(float)`: `1.0`, `0.2`, `1e-05`.
    public init(_ value: Double) {
        if value.isNaN || value.isInfinite {
            self.literal = value.isNaN ? "NaN" : (value > 0 ? "Infinity" : "-Infinity")
        } else if value.magnitude >= 0x1p53, value.magnitude < 1e16 {
            // Swift switches to exponent notation at 2^53, Python's repr only at 1e16.
            self.literal = "\(Int64(value)).0"
        } else {
            self.literal = value.description
        }
    }

    public var description: String { literal }
    /// True when the literal has no fraction or exponent (`5`, not `5.0`).
    public var isInteger: Bool { !literal.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) }
    public var int64: Int64? { isInteger ? Int64(literal) : nil }
    public var uint64: UInt64? { isInteger ? UInt64(literal) : nil }
    /// The integer value when it fits in `Int`, also for literals like `20.0`.
    public var int: Int? {
        if let value = Int(literal) { return value }
        if let double = Double(literal), double == double.rounded(), abs(double) < 9.0e18 { return Int(double) }
        return nil
    }
    public var double: Double? { Double(literal) }
}

/// A JSON object that keeps its keys in insertion order, as Python's dict does.
public struct JSONObject: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    public private(set) var keys: [String] = []
    private var storage: [String: JSONValue] = [:]

    public init() {}
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        for (key, value) in elements { self[key] = value }
    }
    public init(_ pairs: [(String, JSONValue)]) {
        for (key, value) in pairs { self[key] = value }
    }

    public var count: Int { keys.count }
    /// The values in key order.
    public var values: [JSONValue] { keys.map { storage[$0]! } }
    public var isEmpty: Bool { keys.isEmpty }

    public subscript(key: String) -> JSONValue? {
        get { storage[key] }
        set {
            if let newValue {
                if storage.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if storage.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    @discardableResult
    public mutating func removeValue(forKey key: String) -> JSONValue? {
        let old = storage[key]
        self[key] = nil
        return old
    }

    public func makeIterator() -> AnyIterator<(key: String, value: JSONValue)> {
        var index = 0
        return AnyIterator {
            guard index < keys.count else { return nil }
            defer { index += 1 }
            let key = keys[index]
            return (key, storage[key]!)
        }
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.keys == rhs.keys && lhs.storage == rhs.storage
    }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(keys)
        for key in keys { hasher.combine(storage[key]) }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(JSONNumber(value)) }
    public init(floatLiteral value: Double) { self = .number(JSONNumber(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(JSONObject(elements)) }
    public init(nilLiteral: ()) { self = .null }
}

extension JSONValue {
    public static func int(_ value: Int) -> JSONValue { .number(JSONNumber(value)) }
    public static func double(_ value: Double) -> JSONValue { .number(JSONNumber(value)) }
    /// `.string` or `.null` for an optional string.
    public static func string(orNull value: String?) -> JSONValue { value.map { .string($0) } ?? .null }

    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    public var numberValue: JSONNumber? { if case .number(let n) = self { return n } else { return nil } }
    public var intValue: Int? { numberValue?.int }
    public var doubleValue: Double? { numberValue?.double }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
    public var objectValue: JSONObject? { if case .object(let o) = self { return o } else { return nil } }
    public var isNull: Bool { self == .null }

    /// Member lookup for objects; nil for anything else.
    public subscript(key: String) -> JSONValue? { objectValue?[key] }
    /// Element lookup for arrays; nil when out of range or not an array.
    public subscript(index: Int) -> JSONValue? {
        guard let array = arrayValue, array.indices.contains(index) else { return nil }
        return array[index]
    }

    /// The JSON type name, as used in conformance checks ("object", "array", "string", "integer", "number", …).
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number(let n): n.isInteger ? "integer" : "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

extension JSONValue {
    /// Python truthiness, as ComfyUI tests `if json_data.get("front")`.
    public var isTruthy: Bool {
        switch self {
        case .null: false
        case .bool(let b): b
        case .number(let n): (n.double ?? 0) != 0
        case .string(let s): !s.isEmpty
        case .array(let a): !a.isEmpty
        case .object(let o): !o.isEmpty
        }
    }
}
