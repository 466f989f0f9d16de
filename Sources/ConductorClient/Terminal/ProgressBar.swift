import Foundation

/// A progress bar as text: `[██████████░░░░░░░░░░]  50%  10/20`.
public enum ProgressBar {
    /// The bar for `value` of `max`, `cells` characters wide between the brackets.
    public static func render(value: Double, max: Double, cells: Int) -> String {
        let fraction = max > 0 ? Swift.min(1, Swift.max(0, value / max)) : 0
        let filled = Int((fraction * Double(cells)).rounded(.down))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: cells - filled)
        return "[\(bar)] \(TextWidth.padLeft(percent(value: value, max: max), to: 4))  \(count(value))/\(count(max))"
    }

    /// `50%`.
    public static func percent(value: Double, max: Double) -> String {
        let fraction = max > 0 ? Swift.min(1, Swift.max(0, value / max)) : 0
        return "\(Int((fraction * 100).rounded(.down)))%"
    }

    static func count(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(format: "%.1f", value)
    }
}
