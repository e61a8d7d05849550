// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Otto",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "otto", targets: ["otto"]),
        .executable(name: "ottoctl", targets: ["ottoctl"]),
        .executable(name: "opencode-standin", targets: ["opencode-standin"]),
        .executable(name: "telegram-standin", targets: ["telegram-standin"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-async-algorithms", from: "1.1.4"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
        // Already built for AsyncHTTPClient; ottoctl names its decompression limit.
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
    ],
    targets: [
        // Wire types and their validation. Foundation only.
        .target(name: "OttoContracts"),
        // The domain: configuration, model management, OpenCode client, persistence.
        .target(
            name: "OttoCore",
            dependencies: [
                "OttoContracts",
                "CMallocTuning",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
            ]
        ),
        // HTTP transport for the external API: routes, bearer auth, error mapping. Never imports GRDB.
        .target(
            name: "OttoServer",
            dependencies: [
                "OttoCore",
                "OttoContracts",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                // gzip for the catalog body, compressed once per catalog.
                .product(name: "CompressNIO", package: "compress-nio"),
            ]
        ),
        // A stand-in OpenCode server that serves recorded real catalog data (development and tests only).
        .target(
            name: "OpenCodeStandIn",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // A stand-in Telegram Bot API server, from the Bot API reference (development and tests only).
        .target(
            name: "TelegramStandIn",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "telegram-standin",
            dependencies: [
                "TelegramStandIn",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
        // glibc malloc tuning for the long-running server: a constructor and two inline C functions.
        .target(name: "CMallocTuning"),
        .executableTarget(
            name: "otto",
            dependencies: [
                "OttoServer",
                "OttoCore",
                "OttoContracts",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The operator CLI: commands, typed API client, output. Never imports OttoCore.
        .target(
            name: "OttoCtlKit",
            dependencies: [
                "OttoContracts",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPCompression", package: "swift-nio-extras"),
            ]
        ),
        .executableTarget(
            name: "ottoctl",
            dependencies: ["OttoCtlKit", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "opencode-standin",
            dependencies: [
                "OpenCodeStandIn",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
        .executableTarget(
            name: "otto-bench",
            dependencies: [
                "OttoCore",
                "OttoContracts",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/otto-bench"
        ),
        // Shared test support: temporary homes, the in-process stand-in OpenCode server, the fixture.
        .target(
            name: "OttoTestSupport",
            dependencies: [
                "OpenCodeStandIn",
                "TelegramStandIn",
                "OttoContracts",
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            path: "Tests/OttoTestSupport"
        ),
        .testTarget(name: "OttoContractsTests", dependencies: ["OttoContracts", "OttoTestSupport"]),
        .testTarget(
            name: "OttoCoreTests",
            dependencies: [
                "OttoCore", "OttoContracts", "OttoTestSupport", "CMallocTuning", "OpenCodeStandIn",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(
            name: "OttoServerTests",
            dependencies: [
                "OttoServer", "OttoCore", "OttoContracts", "OttoTestSupport", "OpenCodeStandIn",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "OttoExecutableTests",
            dependencies: [
                "OttoTestSupport", "OttoContracts", "OttoCore", "OttoCtlKit", "TelegramStandIn",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]),
    ]
)
