import Foundation

/// Where the CLI sends its requests: Conductor or any single ComfyUI, as `http(s)://host:port[/prefix]`.
public struct ServerAddress: Sendable, Hashable, CustomStringConvertible {
    /// The environment variable that names the server when `--server` is not given.
    public static let environmentVariable = "CONDUCTOR_SERVER"
    /// The server when neither `--server` nor the environment names one: ComfyUI's (and `conductor demo`'s) default.
    public static let defaultURL = "http://127.0.0.1:8188"

    /// The base URL without a trailing slash, e.g. `http://127.0.0.1:8188`.
    public let baseURL: String

    /// Reads `host:port`, `http://host:port` or `https://host/prefix`; a missing scheme means `http://`.
    public init(_ text: String) throws(ClientError) {
        var value = text.trimmingCharacters(in: .whitespaces)
        if !value.contains("://") { value = "http://" + value }
        while value.hasSuffix("/") { value.removeLast() }
        guard let url = URL(string: value), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
            let host = url.host, !host.isEmpty
        else {
            throw .usage("'\(text)' is not a server address; use e.g. --server http://127.0.0.1:8188")
        }
        baseURL = value
    }

    /// `--server` if given, else `$CONDUCTOR_SERVER` if set and not empty, else `http://127.0.0.1:8188`.
    public static func resolve(option: String?, environment: [String: String]) throws(ClientError) -> ServerAddress {
        if let option { return try ServerAddress(option) }
        if let fromEnvironment = environment[environmentVariable], !fromEnvironment.isEmpty {
            return try ServerAddress(fromEnvironment)
        }
        return try ServerAddress(defaultURL)
    }

    public var description: String { baseURL }

    /// The URL of a route, with its query parameters percent-encoded.
    public func url(_ path: String, query: [(String, String)] = []) -> String {
        var url = baseURL + path
        if !query.isEmpty {
            url += "?" + query.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
        }
        return url
    }

    /// The WebSocket URL for a client id (`ws://` for `http://`, `wss://` for `https://`).
    public func webSocketURL(clientID: String?) -> String {
        let scheme = baseURL.hasPrefix("https://") ? "wss://" : "ws://"
        let rest = baseURL.drop { $0 != ":" }.dropFirst(3)
        return scheme + rest + "/ws" + (clientID.map { "?clientId=" + Self.encode($0) } ?? "")
    }

    /// Percent-encodes a query value or a single path segment.
    public static func encode(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? value
    }

    /// RFC 3986 unreserved characters, ASCII only (`CharacterSet.alphanumerics` would let CJK through).
    private static let unreserved = CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
}
