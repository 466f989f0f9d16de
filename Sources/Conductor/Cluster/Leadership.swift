import Foundation
import Logging
import PostgresNIO
import Synchronization

/// Which of the coordinators sharing one PostgreSQL runs the fleet.
///
/// The leader is the coordinator whose session holds a PostgreSQL advisory lock: it alone runs the state machine,
/// links the nodes and dispatches, so scheduling stays one fleet-wide decision and no node is ever linked by two
/// coordinators (the lock is held by one session at a time, and released by the server when that session ends, as
/// it does at once when the process dies). Every other coordinator follows: it forwards what it is asked to the
/// leader (`FollowerRoutes`).
///
/// The leader writes its URL and a heartbeat (`seen_at`, every `beat` seconds) in `coordinator`. A follower takes the
/// lock only after it has seen no heartbeat for `staleAfter` by its own clock, so a leader that only lost its
/// connection for a moment (the database restarted) takes its lock back before anyone else tries. A leader that
/// cannot reach the database for `graceWithoutDatabase`, or finds the lock taken when it reconnects, stops
/// (`LeadershipLost`): the process exits and its supervisor starts it again as a follower. So two coordinators never
/// link the nodes at once.
public final class Leadership: Sendable {
    public enum Role: Sendable, Equatable {
        /// Following the leader at that URL (nil: none is known yet).
        case following(leader: String?)
        case leading(term: Int64)
    }

    let settings: PostgresSettings
    /// This process's id in `coordinator` (a new one each start).
    public let id: String
    private let advertised: Mutex<String>
    let logger: Logger
    let beat: Duration
    let staleAfter: Duration
    /// How long a leader goes on without its database (its store writes answer 503 meanwhile) before it stops. The
    /// lock session asks the server to drop it only after ~35 s of silence (TCP keepalives), so a leader cut off from
    /// the database has stopped before a follower can take the lock.
    let graceWithoutDatabase: Duration
    private let state = Mutex<Role>(.following(leader: nil))
    /// Yields each term this process starts leading (once: a leader that loses its lock stops).
    public let elected: AsyncStream<Int64>
    private let electedIn: AsyncStream<Int64>.Continuation

    public init(
        settings: PostgresSettings, url: String, logger: Logger, beat: Duration = .milliseconds(500), staleAfter: Duration = .seconds(2),
        graceWithoutDatabase: Duration = .seconds(10)
    ) {
        self.graceWithoutDatabase = graceWithoutDatabase
        self.settings = settings
        advertised = Mutex(url)
        self.logger = logger
        self.beat = beat
        self.staleAfter = staleAfter
        id = UUID().uuidString.lowercased()
        (elected, electedIn) = AsyncStream<Int64>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    public var role: Role { state.withLock { $0 } }

    /// Where followers reach this coordinator when it leads.
    public var url: String { advertised.withLock { $0 } }

    /// Sets the URL once the port is known (a server on port 0).
    public func advertise(_ url: String) { advertised.withLock { $0 = url } }

    /// The leader's URL when another coordinator leads.
    public var leaderURL: String? {
        if case .following(let leader) = role { return leader }
        return nil
    }

    /// Campaigns and keeps the lock until cancelled; throws `LeadershipLost` if another took it from under it.
    public func run() async throws {
        var connection: PostgresConnection?
        var observed: (seenAt: Int64, id: String, since: ContinuousClock.Instant)?
        var connectionNumber = 0
        // While leading: whether this process's current session holds the lock, and since when it has not.
        var holdsLock = false
        var lostAt: ContinuousClock.Instant?
        defer { if let connection { Task { try? await connection.close() } } }
        while !Task.isCancelled {
            do {
                if connection == nil || connection?.isClosed == true {
                    connectionNumber += 1
                    let opened = try await PostgresConnection.connect(
                        configuration: settings.connectionConfiguration, id: connectionNumber, logger: logger)
                    // The server notices a vanished peer after 20 s + 3 × 5 s of silence, not the OS's hours.
                    try await opened.query("SET tcp_keepalives_idle = 20", logger: logger)
                    try await opened.query("SET tcp_keepalives_interval = 5", logger: logger)
                    try await opened.query("SET tcp_keepalives_count = 3", logger: logger)
                    connection = opened
                }
                guard let connection else { continue }
                if case .leading(let term) = role {
                    if !holdsLock {
                        // The session that held the lock is gone: take it again, or stop if it is not free (another
                        // coordinator may lead now).
                        guard try await tryLock(connection) else { throw LeadershipLost(term: term) }
                        holdsLock = true
                        lostAt = nil
                        logger.warning("took the leader lock back after losing the database", metadata: ["term": "\(term)"])
                    }
                    try await connection.query(
                        "UPDATE coordinator SET seen_at = \(epochMilliseconds()), url = \(url) WHERE id = \(id) AND term = \(term)",
                        logger: logger)
                } else {
                    try await connection.query(
                        """
                        INSERT INTO coordinator (id, url, leader, term, seen_at) VALUES (\(id), \(url), false, 0, \(epochMilliseconds()))
                        ON CONFLICT (id) DO UPDATE SET url = excluded.url, seen_at = excluded.seen_at
                        """, logger: logger)
                    var leader: (id: String, url: String, seenAt: Int64)?
                    for try await row in try await connection.query(
                        "SELECT id, url, seen_at FROM coordinator WHERE leader ORDER BY term DESC LIMIT 1", logger: logger
                    ).decode((String, String, Int64).self) { leader = (row.0, row.1, row.2) }
                    let now = ContinuousClock.now
                    if let leader, observed?.seenAt != leader.seenAt || observed?.id != leader.id {
                        observed = (leader.seenAt, leader.id, now)
                    }
                    // A leader at this process's own address is an earlier process on this port, dead since this one
                    // bound it: never forward to it (that would be to ourselves), and take over without waiting.
                    let isOwnAddress = leader.map { $0.url == url && $0.id != id } ?? false
                    let stale = leader == nil || isOwnAddress || (observed.map { now - $0.since >= staleAfter } ?? true)
                    if stale, try await tryLock(connection) {
                        holdsLock = true
                        let term = try await takeOffice(connection)
                        state.withLock { $0 = .leading(term: term) }
                        logger.notice(
                            "leading the fleet",
                            metadata: ["term": "\(term)", "coordinator.id": "\(id)", "url": "\(url)", "since_ms": "\(epochMilliseconds())"])
                        electedIn.yield(term)
                    } else {
                        let known = stale ? nil : leader?.url
                        state.withLock { $0 = .following(leader: known) }
                    }
                }
            } catch let lost as LeadershipLost {
                logger.critical("another coordinator took the leader lock: stopping", metadata: ["term": "\(lost.term)"])
                throw lost
            } catch {
                holdsLock = false
                if case .leading(let term) = role {
                    // Followers can take the lock only once the server dropped this leader's session (≥ 35 s of
                    // silence, or at once if the server restarted: then this leader takes it back first, or stops).
                    let since = lostAt ?? .now
                    lostAt = since
                    if ContinuousClock.now - since >= graceWithoutDatabase {
                        logger.critical("lost the database while leading: stopping", metadata: ["term": "\(term)"])
                        throw LeadershipLost(term: term)
                    }
                }
                logger.warning("the leader election's database connection failed", metadata: ["error": "\(String(reflecting: error))"])
                if let dead = connection { try? await dead.close() }
                connection = nil
            }
            try? await Task.sleep(for: beat)
        }
    }

    func tryLock(_ connection: PostgresConnection) async throws -> Bool {
        for try await held in try await connection.query("SELECT pg_try_advisory_lock(\(PostgresStore.leaderLockKey))", logger: logger)
            .decode(Bool.self)
        {
            return held
        }
        return false
    }

    /// Marks this coordinator the leader with the next term, in one transaction.
    func takeOffice(_ connection: PostgresConnection) async throws -> Int64 {
        let now = epochMilliseconds()
        let (id, url) = (id, self.url)
        return try await connection.withTransaction(logger: logger) { connection in
            try await connection.query("UPDATE coordinator SET leader = false WHERE leader", logger: logger)
            var term: Int64 = 1
            for try await value in try await connection.query(
                """
                INSERT INTO coordinator (id, url, leader, term, seen_at)
                VALUES (\(id), \(url), true, (SELECT COALESCE(MAX(term), 0) + 1 FROM coordinator), \(now))
                ON CONFLICT (id) DO UPDATE SET url = excluded.url, leader = true, term = excluded.term, seen_at = excluded.seen_at
                RETURNING term
                """, logger: logger
            ).decode(Int64.self) { term = value }
            // Coordinators gone for a day are forgotten.
            try await connection.query("DELETE FROM coordinator WHERE NOT leader AND seen_at < \(now - 86_400_000)", logger: logger)
            return term
        }
    }
}

/// Another coordinator leads now: this one must stop linking nodes and exit.
public struct LeadershipLost: Error, CustomStringConvertible {
    public var term: Int64
    public var description: String { "another coordinator took the leader lock (this one led term \(term))" }
}
