/// Typed field access that names the message and key in its error, so a malformed frame says what was wrong.
extension JSONObject {
    func value(_ key: String, in context: String) throws(WireFormatError) -> JSONValue {
        guard let value = self[key] else { throw WireFormatError("\(context): missing \"\(key)\"") }
        return value
    }

    func string(_ key: String, in context: String) throws(WireFormatError) -> String {
        guard let string = try value(key, in: context).stringValue else {
            throw WireFormatError("\(context): \"\(key)\" must be a string")
        }
        return string
    }

    /// A string that may be absent or null.
    func optionalString(_ key: String, in context: String) throws(WireFormatError) -> String? {
        switch self[key] {
        case nil, .null?: return nil
        case .string(let string)?: return string
        default: throw WireFormatError("\(context): \"\(key)\" must be a string or null")
        }
    }

    func number(_ key: String, in context: String) throws(WireFormatError) -> JSONNumber {
        guard let number = try value(key, in: context).numberValue else {
            throw WireFormatError("\(context): \"\(key)\" must be a number")
        }
        return number
    }

    func int64(_ key: String, in context: String) throws(WireFormatError) -> Int64 {
        let number = try number(key, in: context)
        guard let integer = number.int64 ?? number.int.map(Int64.init) else {
            throw WireFormatError("\(context): \"\(key)\" must be an integer, got \(number.literal)")
        }
        return integer
    }

    /// An integer that may be absent or null.
    func optionalInt64(_ key: String, in context: String) throws(WireFormatError) -> Int64? {
        switch self[key] {
        case nil, .null?: return nil
        default: return try int64(key, in: context)
        }
    }

    func bool(_ key: String, in context: String) throws(WireFormatError) -> Bool {
        guard let bool = try value(key, in: context).boolValue else {
            throw WireFormatError("\(context): \"\(key)\" must be a boolean")
        }
        return bool
    }

    func object(_ key: String, in context: String) throws(WireFormatError) -> JSONObject {
        try value(key, in: context).object(in: "\(context) \"\(key)\"")
    }

    func strings(_ key: String, in context: String) throws(WireFormatError) -> [String] {
        try value(key, in: context).strings(in: "\(context) \"\(key)\"")
    }

    /// The members whose keys are not in `known`, in their original order.
    func removingKeys(_ known: [String]) -> JSONObject {
        JSONObject(filter { !known.contains($0.key) }.map { ($0.key, $0.value) })
    }
}

extension JSONValue {
    func object(in context: String) throws(WireFormatError) -> JSONObject {
        guard let object = objectValue else { throw WireFormatError("\(context) must be an object, got \(typeName)") }
        return object
    }

    func array(in context: String) throws(WireFormatError) -> [JSONValue] {
        guard let array = arrayValue else { throw WireFormatError("\(context) must be an array, got \(typeName)") }
        return array
    }

    func strings(in context: String) throws(WireFormatError) -> [String] {
        var strings: [String] = []
        for element in try array(in: context) {
            guard let string = element.stringValue else {
                throw WireFormatError("\(context) must hold only strings, got \(element.typeName)")
            }
            strings.append(string)
        }
        return strings
    }

    /// A JSON array of strings.
    static func strings(_ strings: [String]) -> JSONValue { .array(strings.map { .string($0) }) }
}
