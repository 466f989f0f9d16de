import CompressNIO
import NIOCore

/// PNG encoding and decoding for the simulated node's files (zlib through CompressNIO).
public enum PNG {
    public struct DecodeError: Error, CustomStringConvertible {
        public let description: String
    }

    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Encodes 8-bit gray, RGB or RGBA pixels, with optional `tEXt` chunks (ComfyUI stores `prompt`/`workflow`).
    public static func encode(_ image: RasterImage, text: [(String, String)] = []) -> [UInt8] {
        let colorType: UInt8 =
            switch image.channels {
            case 1: 0
            case 4: 6
            default: 2
            }
        var out = signature
        var header: [UInt8] = []
        header.appendBigEndian(UInt32(image.width))
        header.appendBigEndian(UInt32(image.height))
        header.append(contentsOf: [8, colorType, 0, 0, 0])
        appendChunk("IHDR", header, to: &out)
        for (key, value) in text {
            appendChunk("tEXt", Array(key.utf8) + [0] + Array(value.utf8), to: &out)
        }
        let stride = image.width * image.channels
        var raw = ByteBufferAllocator().buffer(capacity: (stride + 1) * image.height)
        image.pixels.withUnsafeBufferPointer { pixels in
            for row in 0..<image.height {
                raw.writeInteger(UInt8(0))
                raw.writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: pixels[(row * stride)..<((row + 1) * stride)])))
            }
        }
        let compressed = (try? raw.compress(with: .zlib(configuration: .init(compressionLevel: 4)))) ?? ByteBuffer()
        appendChunk("IDAT", Array(compressed.readableBytesView), to: &out)
        appendChunk("IEND", [], to: &out)
        return out
    }

    /// The text chunks of a PNG (e.g. `prompt`), without decoding pixels.
    public static func textChunks(_ bytes: [UInt8]) -> [(String, String)] {
        (try? chunks(bytes))?.compactMap { type, data in
            guard type == "tEXt", let zero = data.firstIndex(of: 0) else { return nil }
            return (String(decoding: data[..<zero], as: UTF8.self), String(decoding: data[(zero + 1)...], as: UTF8.self))
        } ?? []
    }

    /// Decodes a non-interlaced 8-bit PNG (gray, gray+alpha, RGB, RGBA or palette).
    public static func decode(_ bytes: [UInt8]) throws -> RasterImage {
        let chunks = try chunks(bytes)
        guard let header = chunks.first(where: { $0.type == "IHDR" })?.data, header.count == 13 else {
            throw DecodeError(description: "missing IHDR")
        }
        let width = Int(header.readBigEndian(at: 0)), height = Int(header.readBigEndian(at: 4))
        let depth = header[8], colorType = header[9], interlace = header[12]
        guard depth == 8, interlace == 0, width > 0, height > 0, width * height <= 1 << 28 else {
            throw DecodeError(description: "unsupported PNG (depth \(depth), interlace \(interlace))")
        }
        let sourceChannels: Int
        switch colorType {
        case 0: sourceChannels = 1
        case 2: sourceChannels = 3
        case 3: sourceChannels = 1
        case 4: sourceChannels = 2
        case 6: sourceChannels = 4
        default: throw DecodeError(description: "unknown colour type \(colorType)")
        }
        var compressed = ByteBufferAllocator().buffer(capacity: bytes.count)
        for chunk in chunks where chunk.type == "IDAT" { compressed.writeBytes(chunk.data) }
        let stride = width * sourceChannels
        let expected = (stride + 1) * height
        let inflated: ByteBuffer
        do {
            inflated = try compressed.decompress(with: .zlib(), maxSize: expected + 1024)
        } catch {
            throw DecodeError(description: "corrupt image data")
        }
        let raw = Array(inflated.readableBytesView)
        guard raw.count >= expected else { throw DecodeError(description: "truncated image data") }
        var pixels = [UInt8](repeating: 0, count: stride * height)
        let bpp = sourceChannels
        for row in 0..<height {
            let filter = raw[row * (stride + 1)]
            let src = row * (stride + 1) + 1
            let dst = row * stride
            for i in 0..<stride {
                let x = raw[src + i]
                let a = i >= bpp ? pixels[dst + i - bpp] : 0
                let b = row > 0 ? pixels[dst - stride + i] : 0
                let c = (i >= bpp && row > 0) ? pixels[dst - stride + i - bpp] : 0
                let value: UInt8
                switch filter {
                case 0: value = x
                case 1: value = x &+ a
                case 2: value = x &+ b
                case 3: value = x &+ UInt8((Int(a) + Int(b)) / 2)
                case 4: value = x &+ paeth(a, b, c)
                default: throw DecodeError(description: "bad filter \(filter)")
                }
                pixels[dst + i] = value
            }
        }
        switch colorType {
        case 3:
            guard let palette = chunks.first(where: { $0.type == "PLTE" })?.data else {
                throw DecodeError(description: "missing palette")
            }
            let alpha = chunks.first(where: { $0.type == "tRNS" })?.data ?? []
            var out = [UInt8](repeating: 255, count: width * height * 4)
            for p in 0..<(width * height) {
                let index = Int(pixels[p])
                guard index * 3 + 2 < palette.count else { throw DecodeError(description: "palette index out of range") }
                out[p * 4] = palette[index * 3]
                out[p * 4 + 1] = palette[index * 3 + 1]
                out[p * 4 + 2] = palette[index * 3 + 2]
                out[p * 4 + 3] = index < alpha.count ? alpha[index] : 255
            }
            return RasterImage(width: width, height: height, channels: 4, pixels: out)
        case 4:
            var out = [UInt8](repeating: 0, count: width * height * 4)
            for p in 0..<(width * height) {
                out[p * 4] = pixels[p * 2]
                out[p * 4 + 1] = pixels[p * 2]
                out[p * 4 + 2] = pixels[p * 2]
                out[p * 4 + 3] = pixels[p * 2 + 1]
            }
            return RasterImage(width: width, height: height, channels: 4, pixels: out)
        default:
            return RasterImage(width: width, height: height, channels: sourceChannels, pixels: pixels)
        }
    }

    static func paeth(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> UInt8 {
        let p = Int(a) + Int(b) - Int(c)
        let pa = abs(p - Int(a)), pb = abs(p - Int(b)), pc = abs(p - Int(c))
        if pa <= pb && pa <= pc { return a }
        return pb <= pc ? b : c
    }

    static func chunks(_ bytes: [UInt8]) throws -> [(type: String, data: [UInt8])] {
        guard bytes.count >= 8, Array(bytes[0..<8]) == signature else { throw DecodeError(description: "not a PNG file") }
        var result: [(String, [UInt8])] = []
        var offset = 8
        while offset + 12 <= bytes.count {
            let length = Int(bytes.readBigEndian(at: offset))
            let type = String(decoding: bytes[(offset + 4)..<(offset + 8)], as: UTF8.self)
            guard offset + 12 + length <= bytes.count else { throw DecodeError(description: "truncated chunk \(type)") }
            result.append((type, Array(bytes[(offset + 8)..<(offset + 8 + length)])))
            offset += 12 + length
            if type == "IEND" { break }
        }
        return result
    }

    static func appendChunk(_ type: String, _ data: [UInt8], to out: inout [UInt8]) {
        out.appendBigEndian(UInt32(data.count))
        let typed = Array(type.utf8) + data
        out.append(contentsOf: typed)
        out.appendBigEndian(CRC32.checksum(typed))
    }
}

/// CRC-32 (ISO-HDLC), as PNG chunks require.
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}

extension Array where Element == UInt8 {
    mutating func appendBigEndian(_ value: UInt32) {
        append(contentsOf: [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)])
    }

    func readBigEndian(at offset: Int) -> UInt32 {
        UInt32(self[offset]) << 24 | UInt32(self[offset + 1]) << 16 | UInt32(self[offset + 2]) << 8 | UInt32(self[offset + 3])
    }
}
