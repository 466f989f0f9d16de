/// Host and Origin header values as ComfyUI's origin check reads them (comfyui-api.md §1.3).
public enum Authority {
    /// The hostname of `host[:port]` or `[v6]:port`.
    public static func hostname(_ authority: String) -> String? {
        if authority.hasPrefix("[") { return authority.split(separator: "]").first.map { String($0.dropFirst()) } }
        return authority.split(separator: ":").first.map(String.init)
    }

    /// The lowercased hostname of a value that is exactly one authority, `host[:port]` or `[v6][:port]` with a
    /// numeric port; nil for anything else (`a:1@b`, `a:b`, `a, b`, an empty host).
    public static func strictHostname(_ authority: String) -> String? {
        var host = Substring(authority)
        var port: Substring?
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let rest = host[host.index(after: close)...]
            if !rest.isEmpty {
                guard rest.first == ":" else { return nil }
                port = rest.dropFirst()
            }
            host = host[host.index(after: host.startIndex)..<close]
            guard !host.isEmpty, host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return nil }
        } else {
            let pieces = host.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            host = pieces[0]
            if pieces.count == 2 { port = pieces[1] }
            let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")
            guard !host.isEmpty, host.allSatisfy({ allowed.contains($0) }) else { return nil }
        }
        if let port {
            guard (1...5).contains(port.count), port.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(port), number <= 65535 else {
                return nil
            }
        }
        return host.lowercased()
    }

    /// The port of `host:port`, nil when there is none.
    public static func port(_ authority: String) -> Int? {
        guard let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") else { return nil }
        return Int(authority[authority.index(after: colon)...])
    }

    /// The `host:port` of an Origin header such as `http://host:8188`; nil when it has no scheme.
    public static func ofOrigin(_ origin: String) -> String? {
        let parts = origin.split(separator: "://", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        return parts[1].split(separator: "/").first.map(String.init) ?? ""
    }

    public static func isLoopback(_ host: String) -> Bool { host == "localhost" || host.hasPrefix("127.") || host == "::1" }

    /// ComfyUI's default check: a cross-site fetch, or a loopback Host with an Origin naming another host (or port),
    /// is refused.
    public static func originAllowed(host: String?, origin: String?, secFetchSite: String?) -> Bool {
        if secFetchSite == "cross-site" { return false }
        guard let host, let origin, let hostName = hostname(host)?.lowercased(), isLoopback(hostName) else { return true }
        let originAuthority = ofOrigin(origin) ?? ""
        guard hostname(originAuthority)?.lowercased() == hostName else { return false }
        if let hostPort = port(host), let originPort = port(originAuthority), hostPort != originPort { return false }
        return true
    }
}
