import ComfyWire
import Foundation
import Hummingbird
import MultipartKit
import NIOCore

/// An upload's `multipart/form-data` body, read as it arrives: the `image` part streams into a blob
/// writer (never held whole in memory), the other parts are small text fields.
struct UploadForm {
    enum Failure: Error, Equatable {
        /// No boundary, a part that never ends, no closing boundary (a truncated body), an oversized field.
        case malformed(String)
        case tooLarge
    }

    struct File {
        var filename: String
        var writer: BlobWriter
    }

    var fields: [String: String] = [:]
    /// The `image` part, written to a blob writer; the caller adopts or aborts it.
    var file: File?

    static let fieldLimit = 64 * 1024

    /// Reads a whole body. On any failure the partial blob is removed before the error is thrown.
    static func read(_ body: RequestBody, contentType: String, limit: Int64, store: UploadStore) async throws -> UploadForm {
        guard let boundary = parameter("boundary", in: contentType), !boundary.isEmpty else {
            throw Failure.malformed("the body is not multipart/form-data with a boundary")
        }
        let state = ParseState(store: store, limit: limit)
        let parser = MultipartParser(boundary: boundary)
        parser.onHeader = { field, value in state.header(field, value) }
        parser.onBody = { chunk in state.body(&chunk) }
        parser.onPartComplete = { state.partComplete() }
        let closing = Array("--\(boundary)--".utf8)
        var tail: [UInt8] = []
        do {
            for try await chunk in body {
                try parser.execute(chunk)
                if let failure = state.failure { throw failure }
                // The last bytes of the body so far, where the closing boundary must be at the end.
                let keep = closing.count + 4
                if chunk.readableBytes >= keep {
                    tail = Array(chunk.readableBytesView.suffix(keep))
                } else {
                    tail = Array((tail + chunk.readableBytesView).suffix(keep))
                }
            }
            // A body cut short leaves a part open, or never reaches the closing boundary.
            guard !state.inPart, tail.firstRange(of: closing) != nil else {
                throw Failure.malformed("the multipart body ends before its closing boundary")
            }
        } catch {
            state.form.file?.writer.abort()
            state.openWriter?.abort()
            if let failure = error as? Failure { throw failure }
            if let failure = state.failure { throw failure }
            throw Failure.malformed("the multipart body could not be parsed")
        }
        return state.form
    }

    /// Parser callbacks' state; lives in one task.
    final class ParseState {
        let store: UploadStore
        let limit: Int64
        var form = UploadForm()
        var name: String?
        var filename: String?
        var inPart = false
        var field = ByteBuffer()
        var openWriter: BlobWriter?
        var failure: Failure?

        init(store: UploadStore, limit: Int64) {
            self.store = store
            self.limit = limit
        }

        func header(_ field: String, _ value: String) {
            inPart = true
            guard field.lowercased() == "content-disposition" else { return }
            name = UploadForm.parameter("name", in: value)
            filename = UploadForm.parameter("filename", in: value)
        }

        func body(_ chunk: inout ByteBuffer) {
            inPart = true
            guard failure == nil else { return }
            if name == "image", form.file == nil {
                do {
                    if openWriter == nil { openWriter = try store.makeWriter() }
                    try openWriter?.write(chunk)
                    if let writer = openWriter, writer.size > limit { failure = .tooLarge }
                } catch {
                    failure = .malformed("the upload could not be written: \(error)")
                }
            } else {
                field.writeBuffer(&chunk)
                if field.readableBytes > UploadForm.fieldLimit { failure = .malformed("form field '\(name ?? "")' is too long") }
            }
        }

        func partComplete() {
            if name == "image", form.file == nil {
                // An empty file part still names the file; the route decides what an empty upload means.
                if openWriter == nil { openWriter = try? store.makeWriter() }
                if let writer = openWriter { form.file = File(filename: filename ?? "", writer: writer) }
                openWriter = nil
            } else if let name, form.fields[name] == nil {
                form.fields[name] = String(buffer: field)
            }
            field.clear()
            name = nil
            filename = nil
            inPart = false
        }
    }

    static func parameter(_ key: String, in header: String) -> String? { HeaderParameter.value(key, in: header) }
}
