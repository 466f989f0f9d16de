import Foundation

/// The JPEG a simulated sampler sends as its step preview (32×32, baseline, quality 80).
enum PreviewJPEG {
    static let bytes: [UInt8] = Array(
        Data(
            base64Encoded:
                "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAYEBQYFBAYGBQYHBwYIChAKCgkJChQODwwQFxQYGBcUFhYaHSUfGhsjHBYWICwgIyYnKSopGR8tMC0oMCUoKSj/2wBDAQcHBwoIChMKChMoGhYaKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCj/wAARCAAgACADASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwDwm007pxWzaad0+Wtm007pxWzaad0+Wvp6+O8zHKsy21Me007p8tbNpp3Titm007p8tbVpp3TivGr47zP0nKsy21MS007p8tbVpp3T5a2LTTuny1tWmndPlrx6+O8z+eMqzHbUxrTTunFbVpp3T5a2LTTunFbVpp3T5a8evjvM/SsqzHbU/9k="
        ) ?? Data())

    /// The preview grown to about `size` bytes with JPEG comment segments after the start marker (still a valid JPEG).
    static func padded(to size: Int) -> [UInt8] {
        var padding = max(0, size - bytes.count)
        var out = Array(bytes.prefix(2))
        while padding > 4 {
            let payload = min(padding - 4, 65_533)
            let length = payload + 2
            out += [0xFF, 0xFE, UInt8(length >> 8), UInt8(length & 0xFF)]
            out += [UInt8](repeating: 0x20, count: payload)
            padding -= payload + 4
        }
        return out + bytes.dropFirst(2)
    }
}
