/// How JSON text is laid out.
public enum JSONStyle: Sendable {
    /// Python's `json.dumps` defaults, as ComfyUI answers: `", "` and `": "`, non-ASCII as `\uXXXX`.
    case python
    /// No spaces, UTF-8 kept as is.
    case compact
}

extension JSONValue {
    /// The value as JSON text bytes.
    public func serialized(_ style: JSONStyle = .python) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        write(into: &out, style: style)
        return out
    }

    /// The value as a JSON string.
    public func jsonString(_ style: JSONStyle = .python) -> String {
        String(decoding: serialized(style), as: UTF8.self)
    }

    func write(into out: inout [UInt8], style: JSONStyle) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let n): out.append(contentsOf: n.literal.utf8)
        case .string(let s): Self.writeString(s, into: &out, asciiOnly: style == .python)
        case .array(let array):
            out.append(UInt8(ascii: "["))
            for (i, element) in array.enumerated() {
                if i > 0 { Self.writeSeparator(into: &out, style: style) }
                element.write(into: &out, style: style)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            out.append(UInt8(ascii: "{"))
            var first = true
            for (key, value) in object {
                if !first { Self.writeSeparator(into: &out, style: style) }
                first = false
                Self.writeString(key, into: &out, asciiOnly: style == .python)
                out.append(UInt8(ascii: ":"))
                if style == .python { out.append(UInt8(ascii: " ")) }
                value.write(into: &out, style: style)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    static func writeSeparator(into out: inout [UInt8], style: JSONStyle) {
        out.append(UInt8(ascii: ","))
        if style == .python { out.append(UInt8(ascii: " ")) }
    }

    static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    static func writeEscaped(_ unit: UInt16, into out: inout [UInt8]) {
        out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u")])
        out.append(hexDigits[Int(unit >> 12 & 0xF)])
        out.append(hexDigits[Int(unit >> 8 & 0xF)])
        out.append(hexDigits[Int(unit >> 4 & 0xF)])
        out.append(hexDigits[Int(unit & 0xF)])
    }

    static func writeString(_ string: String, into out: inout [UInt8], asciiOnly: Bool) {
        out.append(UInt8(ascii: "\""))
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case "\\": out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case "\n": out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case "\r": out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case "\t": out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case "\u{08}": out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case "\u{0C}": out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            default:
                if scalar.value < 0x20 {
                    writeEscaped(UInt16(scalar.value), into: &out)
                } else if scalar.value < 0x7F || !asciiOnly {
                    out.append(contentsOf: String(scalar).utf8)
                } else {
                    for unit in String(scalar).utf16 { writeEscaped(unit, into: &out) }
                }
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
