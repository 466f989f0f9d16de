// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility")
]

let package = Package(
    name: "conductor",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "conductor", targets: ["conductor"]),
        .library(name: "ComfyWire", targets: ["ComfyWire"]),
        .library(name: "SimulatedNode", targets: ["SimulatedNode"]),
        .library(name: "ConductorClient", targets: ["ConductorClient"])
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/vapor/multipart-kit.git", from: "4.7.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6")
    ],
    targets: [
        /// Pure ComfyUI wire model: JSON values, prompt graphs, file references, queue/history, WS messages.
        .target(name: "ComfyWire", swiftSettings: swiftSettings),
        /// A simulated ComfyUI node (HTTP + WebSocket) with a simulated GPU and fault injection.
        .target(
            name: "SimulatedNode",
            dependencies: [
                "ComfyWire",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "MultipartKit", package: "multipart-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CompressNIO", package: "compress-nio")
            ],
            swiftSettings: swiftSettings
        ),
        /// Conductor's pure decisions: cluster configuration and the scheduler. No I/O, no clock.
        .target(name: "ConductorCore", dependencies: ["ComfyWire"], swiftSettings: swiftSettings),
        /// Benchmarks: trace model and generators, a discrete-event fleet simulation driving the real scheduler, P5–P8.
        .target(name: "ConductorBench", dependencies: ["ComfyWire", "ConductorCore"], swiftSettings: swiftSettings),
        /// P1, P2 and P4 over real HTTP: a simulated node and Conductor in their own processes, nginx when installed.
        .target(
            name: "ConductorLiveBench",
            dependencies: [
                "ComfyWire", "ConductorBench", "ConductorCore", "Conductor", "SimulatedNode",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log")
            ],
            swiftSettings: swiftSettings
        ),
        /// The coordinator: node links, durable queue, dispatcher, event relay, and the ComfyUI API surface.
        .target(
            name: "Conductor",
            dependencies: [
                "ComfyWire",
                "ConductorCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "MultipartKit", package: "multipart-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus")
            ],
            swiftSettings: swiftSettings
        ),
        /// The CLI's logic: a typed ComfyUI client over HTTP/WebSocket, workflow editing, and terminal rendering.
        .target(
            name: "ConductorClient",
            dependencies: [
                "ComfyWire",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log")
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "conductor",
            dependencies: [
                "ComfyWire",
                "ConductorBench",
                "ConductorLiveBench",
                "Conductor",
                "ConductorClient",
                "ConductorCore",
                "SimulatedNode",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle")
            ],
            swiftSettings: swiftSettings
        ),
        /// Helpers for tests and benchmarks: HTTP/WebSocket test clients and in-process fleets.
        .target(
            name: "ConductorTesting",
            dependencies: [
                "ComfyWire",
                "Conductor",
                "ConductorCore",
                "SimulatedNode",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio")
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "ComfyWireTests", dependencies: ["ComfyWire"], swiftSettings: swiftSettings),
        .testTarget(
            name: "ConductorTests",
            dependencies: [
                "ComfyWire", "Conductor", "ConductorCore", "ConductorTesting", "SimulatedNode",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log")
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ConductorClientTests",
            dependencies: ["ComfyWire", "ConductorClient", "ConductorCore", "ConductorTesting", "SimulatedNode"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "ConductorCoreTests", dependencies: ["ConductorCore", "ComfyWire"], swiftSettings: swiftSettings),
        .testTarget(
            name: "ConductorBenchTests", dependencies: ["ConductorBench", "ConductorCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "SimulatedNodeTests",
            dependencies: [
                "ComfyWire",
                "ConductorTesting",
                "SimulatedNode",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Hummingbird", package: "hummingbird")
            ],
            exclude: ["Recordings"],
            swiftSettings: swiftSettings
        )
    ]
)
