/// An 8-bit image held in memory: what flows along IMAGE and MASK links in the simulated node.
public struct RasterImage: Sendable, Hashable {
    public let width: Int
    public let height: Int
    /// 1 (gray/mask), 3 (RGB) or 4 (RGBA).
    public let channels: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * channels, "pixel buffer size mismatch")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// A solid RGB image; `color` is 0xRRGGBB as EmptyImage takes it.
    public static func solid(width: Int, height: Int, color: Int) -> RasterImage {
        let rgb = [UInt8((color >> 16) & 0xFF), UInt8((color >> 8) & 0xFF), UInt8(color & 0xFF)]
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for i in stride(from: 0, to: pixels.count, by: 3) {
            pixels[i] = rgb[0]
            pixels[i + 1] = rgb[1]
            pixels[i + 2] = rgb[2]
        }
        return RasterImage(width: width, height: height, channels: 3, pixels: pixels)
    }

    /// A deterministic pattern for a seed, standing in for a decoded latent: same seed, same pixels.
    public static func pattern(width: Int, height: Int, seed: UInt64) -> RasterImage {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        let r = UInt8(truncatingIfNeeded: seed), g = UInt8(truncatingIfNeeded: seed >> 8)
        let b = UInt8(truncatingIfNeeded: seed >> 16)
        var i = 0
        for y in 0..<height {
            let dy = UInt8(truncatingIfNeeded: y * 255 / max(height - 1, 1))
            for x in 0..<width {
                let dx = UInt8(truncatingIfNeeded: x * 255 / max(width - 1, 1))
                pixels[i] = r &+ dx
                pixels[i + 1] = g &+ dy
                pixels[i + 2] = b
                i += 3
            }
        }
        return RasterImage(width: width, height: height, channels: 3, pixels: pixels)
    }

    /// RGB channels only, dropping alpha; grayscale is expanded.
    public var rgb: RasterImage {
        if channels == 3 { return self }
        var out = [UInt8](repeating: 0, count: width * height * 3)
        for p in 0..<(width * height) {
            for c in 0..<3 { out[p * 3 + c] = channels == 1 ? pixels[p] : pixels[p * channels + min(c, channels - 1)] }
        }
        return RasterImage(width: width, height: height, channels: 3, pixels: out)
    }

    /// One channel as a mask (0 = red, 1 = green, 2 = blue, 3 = alpha; a missing alpha is opaque).
    public func channel(_ index: Int) -> RasterImage {
        var out = [UInt8](repeating: 255, count: width * height)
        if index < channels || (channels == 1 && index < 3) {
            let source = channels == 1 ? 0 : index
            for p in 0..<(width * height) { out[p] = pixels[p * channels + source] }
        }
        return RasterImage(width: width, height: height, channels: 1, pixels: out)
    }

    public func inverted() -> RasterImage {
        RasterImage(width: width, height: height, channels: channels, pixels: pixels.map { 255 - $0 })
    }

    /// Moves every pixel `fraction` of the way toward an RGB colour.
    public func blended(toward color: (UInt8, UInt8, UInt8), fraction: Double) -> RasterImage {
        let base = rgb
        let target = [color.0, color.1, color.2]
        var out = base.pixels
        for i in out.indices {
            let value = Double(out[i]) * (1 - fraction) + Double(target[i % 3]) * fraction
            out[i] = UInt8(max(0, min(255, value.rounded())))
        }
        return RasterImage(width: width, height: height, channels: 3, pixels: out)
    }
}
