/// Why a JSON value or binary frame does not have the shape a ComfyUI server sends.
public struct WireFormatError: Error, Sendable, Hashable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
