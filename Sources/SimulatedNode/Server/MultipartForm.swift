import ComfyWire
import MultipartKit
import NIOCore

/// A parsed `multipart/form-data` body: each part's field name, file name and bytes.
struct MultipartForm {
    struct Part {
        var name: String?
        var filename: String?
        var body: ByteBuffer
    }

    enum ParseError: Error {
        case noBoundary
        /// The body ended before the closing boundary.
        case truncated
    }

    var parts: [Part] = []

    func first(named name: String) -> Part? { parts.first { $0.name == name } }

    func string(_ name: String) -> String? {
        first(named: name).map { String(buffer: $0.body) }
    }

    /// Parses a whole body; `contentType` supplies the boundary.
    init(body: ByteBuffer, contentType: String) throws {
        guard let boundary = Self.parameter("boundary", in: contentType) else { throw ParseError.noBoundary }
        let parser = MultipartParser(boundary: boundary)
        var current = Part(body: ByteBuffer())
        var complete: [Part] = []
        var inPart = false
        parser.onHeader = { field, value in
            inPart = true
            if field.lowercased() == "content-disposition" {
                current.name = Self.parameter("name", in: value)
                current.filename = Self.parameter("filename", in: value)
            }
        }
        parser.onBody = { chunk in
            inPart = true
            current.body.writeBuffer(&chunk)
        }
        parser.onPartComplete = {
            complete.append(current)
            current = Part(body: ByteBuffer())
            inPart = false
        }
        try parser.execute(body)
        // A body cut short leaves a part open, or never reaches the closing boundary.
        let closing = "--\(boundary)--"
        guard !inPart, String(buffer: body).contains(closing) else { throw ParseError.truncated }
        parts = complete
    }

    static func parameter(_ key: String, in header: String) -> String? { HeaderParameter.value(key, in: header) }
}
