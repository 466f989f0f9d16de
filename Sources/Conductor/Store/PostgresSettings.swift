import ConductorCore
import Foundation
import NIOSSL
import PostgresNIO

/// `store.postgres` of cluster.json as PostgresNIO's client configuration.
public struct PostgresSettings: Sendable {
    public var clientConfiguration: PostgresClient.Configuration
    /// The same server for one connection of its own (the leader's lock).
    public var connectionConfiguration: PostgresConnection.Configuration
    /// The URL without its password, for logs and errors.
    public var redacted: String
    /// How long a write may wait for the server before the client is told to retry (503).
    public var answerSeconds: Double = 5

    /// Reads `postgres://user:password@host:port/database?sslmode=…` (user, password and database may be omitted:
    /// `postgres`, none, the user's name). `sslmode` is `disable` (default), `prefer` or `require`.
    public init(_ config: ClusterConfig.Postgres) throws(ClusterConfigError) {
        guard let url = URLComponents(string: config.url), let host = url.host, !host.isEmpty else {
            throw ClusterConfigError(key: "store.postgres.url", problem: "not a URL of the form postgres://user:password@host:port/database")
        }
        let user = url.user?.removingPercentEncoding ?? "postgres"
        let password = url.password?.removingPercentEncoding
        let path = url.path.hasPrefix("/") ? String(url.path.dropFirst()) : url.path
        let database = path.isEmpty ? user : path
        let tls: PostgresClient.Configuration.TLS
        let connectionTLS: PostgresConnection.Configuration.TLS
        do {
            switch url.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "disable" {
            case "disable": (tls, connectionTLS) = (.disable, .disable)
            case "prefer":
                (tls, connectionTLS) = (.prefer(.makeClientConfiguration()), .prefer(try NIOSSLContext(configuration: .makeClientConfiguration())))
            case "require", "verify-ca", "verify-full":
                (tls, connectionTLS) = (
                    .require(.makeClientConfiguration()), .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
                )
            case let other:
                throw ClusterConfigError(key: "store.postgres.url", problem: "sslmode=\(other) is not one of disable, prefer, require")
            }
        } catch let error as ClusterConfigError {
            throw error
        } catch {
            throw ClusterConfigError(key: "store.postgres.url", problem: "TLS cannot be set up: \(error)")
        }
        var configuration = PostgresClient.Configuration(
            host: host, port: url.port ?? 5432, username: user, password: password, database: database, tls: tls)
        configuration.options.maximumConnections = config.poolSize
        configuration.options.connectTimeout = .seconds(3)
        clientConfiguration = configuration
        var single = PostgresConnection.Configuration(
            host: host, port: url.port ?? 5432, username: user, password: password, database: database, tls: connectionTLS)
        single.options.connectTimeout = .seconds(3)
        connectionConfiguration = single
        var shown = url
        if shown.password != nil { shown.password = "***" }
        redacted = shown.string ?? "postgres://\(host)"
    }
}
