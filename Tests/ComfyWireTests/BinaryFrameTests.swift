import ComfyWire
import Testing

@Suite struct BinaryFrameTests {
    static let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0xFF, 0xD9]

    /// The metadata a real server sent with event 4 (`ws/job-success-feature-flags-client.json`).
    static let metadata: JSONObject = [
        "node_id": "2",
        "prompt_id": "a70c377e-8488-44a0-af15-080f7527abdc",
        "display_node_id": "2",
        "parent_node_id": nil,
        "real_node_id": "2",
        "image_type": "image/jpeg"
    ]

    @Test func previewImageStartsWithEventAndFormatWords() throws {
        let frame = BinaryFrame.previewImage(format: .jpeg, image: Self.jpeg)
        // The recorded head: 0000000100000001ffd8ffe000104a46.
        #expect(
            Array(frame.bytes.prefix(16)) == [0, 0, 0, 1, 0, 0, 0, 1, 0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46])
        #expect(frame.eventType == 1)
        #expect(try BinaryFrame(bytes: frame.bytes) == frame)
    }

    @Test func pngPreviewUsesFormatTwo() throws {
        let frame = try BinaryFrame(bytes: [0, 0, 0, 1, 0, 0, 0, 2, 0x89, 0x50, 0x4E, 0x47])
        #expect(frame == .previewImage(format: .png, image: [0x89, 0x50, 0x4E, 0x47]))
    }

    @Test func unencodedPreviewKeepsItsPayloadRaw() throws {
        let frame = try BinaryFrame(bytes: [0, 0, 0, 2, 9, 8, 7])
        #expect(frame == .unencodedPreviewImage(payload: [9, 8, 7]))
        #expect(frame.bytes == [0, 0, 0, 2, 9, 8, 7])
    }

    @Test func textFrameCarriesNodeIDAndText() throws {
        let bytes: [UInt8] = [0, 0, 0, 3, 0, 0, 0, 4] + Array("12:5".utf8) + Array("step 3/20 ✓".utf8)
        let frame = try BinaryFrame(bytes: bytes)
        #expect(frame == .text(nodeID: "12:5", text: "step 3/20 ✓"))
        #expect(frame.bytes == bytes)
    }

    @Test func metadataPreviewIsWrittenAsComfyUIWritesIt() throws {
        let frame = BinaryFrame.previewImageWithMetadata(metadata: Self.metadata, image: Self.jpeg)
        let bytes = frame.bytes
        // The recorded head: 00000004000000a67b226e6f64655f69, i.e. 166 bytes of `json.dumps` output.
        let head: [UInt8] = [0, 0, 0, 4, 0, 0, 0, 0xA6] + Array(#"{"node_i"#.utf8)
        #expect(Array(bytes.prefix(16)) == head)
        #expect(bytes.count == 8 + 166 + Self.jpeg.count)
        #expect(Array(bytes.suffix(Self.jpeg.count)) == Self.jpeg)
        #expect(try BinaryFrame(bytes: bytes) == frame)
    }

    @Test func metadataPreviewAcceptsCompactJSON() throws {
        let json = Array(#"{"node_id":"7","image_type":"image/png"}"#.utf8)
        let bytes: [UInt8] = [0, 0, 0, 4, 0, 0, 0, UInt8(json.count)] + json + [1, 2, 3]
        let frame = try BinaryFrame(bytes: bytes)
        #expect(
            frame
                == .previewImageWithMetadata(metadata: ["node_id": "7", "image_type": "image/png"], image: [1, 2, 3]))
    }

    @Test func framesAcceptAnyByteCollection() throws {
        let slice = ([0xAA] + [0, 0, 0, 2, 5] as [UInt8])[1...]
        #expect(try BinaryFrame(bytes: slice) == .unencodedPreviewImage(payload: [5]))
    }

    @Test(
        arguments: [
            ([], "shorter than its 4-byte event type"),
            ([0, 0, 1], "shorter than its 4-byte event type"),
            ([0, 0, 0, 9, 1, 2], "unknown event type 9"),
            ([0, 0, 0, 1, 0, 0], "no 4-byte image format"),
            ([0, 0, 0, 1, 0, 0, 0, 3, 0xFF], "unknown image format 3"),
            ([0, 0, 0, 3, 0, 0], "no 4-byte length"),
            ([0, 0, 0, 3, 0, 0, 0, 5, 0x31], "length 5 exceeds the 1 bytes that follow"),
            ([0, 0, 0, 3, 0xFF, 0xFF, 0xFF, 0xFF], "length 4294967295 exceeds"),
            ([0, 0, 0, 3, 0, 0, 0, 1, 0xC3], "node id is not valid UTF-8"),
            ([0, 0, 0, 3, 0, 0, 0, 1, 0x31, 0xFF], "text is not valid UTF-8"),
            ([0, 0, 0, 4, 0, 0, 0, 2, 0x7B], "length 2 exceeds"),
            ([0, 0, 0, 4, 0, 0, 0, 2, 0x7B, 0x22], "not valid JSON"),
            ([0, 0, 0, 4, 0, 0, 0, 2, 0x5B, 0x5D], "must be a JSON object, got array")
        ] as [([UInt8], String)])
    func malformedFramesAreRejectedWithAReason(bytes: [UInt8], reason: String) throws {
        let error = try #require(throws: WireFormatError.self) { try BinaryFrame(bytes: bytes) }
        #expect(error.message.contains(reason), "\(error.message)")
    }
}
