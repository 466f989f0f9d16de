import Foundation

/// Times and durations as a person reads them.
public enum Durations {
    /// `4s`, `2m 05s`, `1h 02m`.
    public static func text(seconds: Double) -> String {
        if seconds < 10 { return String(format: "%.1fs", max(0, seconds)) }
        let total = Int(seconds.rounded())
        if total < 60 { return "\(total)s" }
        if total < 3600 { return String(format: "%dm %02ds", total / 60, total % 60) }
        return String(format: "%dh %02dm", total / 3600, total % 3600 / 60)
    }

    /// `12s ago`.
    public static func ago(milliseconds: Int64, now: Date) -> String {
        text(seconds: now.timeIntervalSince1970 - Double(milliseconds) / 1000) + " ago"
    }

    /// `2026-11-22 01:31:40` in local time.
    public static func timestamp(milliseconds: Int64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }

    /// Numeric ids in numeric order ("9" before "10"), others after.
    static func nodeIDOrder(_ a: String, _ b: String) -> Bool {
        switch (Int(a), Int(b)) {
        case let (x?, y?): x < y
        case (_?, nil): true
        case (nil, _?): false
        default: a < b
        }
    }
}
