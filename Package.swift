// swift-tools-version:6.2
import PackageDescription

/// Strict settings for every hand-written target.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .unsafeFlags(["-warnings-as-errors"]),
]

/// The pixel layers are optimised in debug builds too: `make test` runs the engine's real work (tracking,
/// removal, overlay painting) on real clips, and unoptimised that took ~10× longer: the SDK removal test
/// alone 146 s against 12 s, within reach of its 900 s hang guard beside the whole suite in CI.
/// Overflow checks and preconditions stay on (`-O`, not `-Ounchecked`), and the debug build still
/// passes `-enable-testing` for `@testable import`.
let pixels: [SwiftSetting] = strict + [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "roto",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "roto", targets: ["roto"]),
        .library(name: "RotoAPI", targets: ["RotoAPI"]),
        .library(name: "RotoClient", targets: ["RotoClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // Wire types shared by server, SDK and CLI.
        .target(name: "RotoAPI", swiftSettings: strict),
        // Domain rules, no I/O.
        .target(name: "RotoCore", dependencies: ["RotoAPI"], swiftSettings: strict),
        // C shims.
        .systemLibrary(name: "CFFmpeg", pkgConfig: "libavformat libavcodec libavutil libswscale libavfilter libswresample",
                       providers: [.apt(["libavformat-dev", "libavcodec-dev", "libavutil-dev", "libswscale-dev",
                                              "libavfilter-dev", "libswresample-dev"])]),
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        // Work on threads the caller starts (at its priority), for the media and vision layers.
        .target(name: "RotoThreads", swiftSettings: strict),
        // Media: probe, normalise, frame access (owns every FFmpeg pointer).
        .target(name: "RotoMedia", dependencies: ["CFFmpeg", "RotoThreads"], swiftSettings: pixels),
        // Vision engine and mask codecs (pure pixel algorithms, no I/O).
        .target(name: "RotoVision", dependencies: ["CZlib", "RotoAPI", "RotoThreads"], swiftSettings: pixels),
        // Persistence: SQLite via GRDB, file store.
        .target(name: "RotoStore", dependencies: [
            "RotoCore", "RotoAPI",
            .product(name: "GRDB", package: "GRDB.swift"),
        ], swiftSettings: strict),
        // The HTTP server: routes, auth, services.
        .target(name: "RotoServer", dependencies: [
            "RotoAPI", "RotoCore", "RotoStore", "RotoMedia", "RotoVision", "RotoThreads",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ], swiftSettings: strict),
        // The public Swift SDK: typed async calls for every endpoint, Kling JWT signing, mask helpers.
        .target(name: "RotoClient", dependencies: [
            "RotoAPI",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ], swiftSettings: strict),
        // The command tree as a library.
        .target(name: "RotoCLI", dependencies: [
            "RotoServer", "RotoClient", "RotoAPI", "RotoVision",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: strict),
        .executableTarget(name: "roto", dependencies: ["RotoCLI"], swiftSettings: strict),
        // Benchmarks (release builds; they print figures, they never assert times).
        .executableTarget(name: "select-bench", dependencies: ["RotoVision"], path: "Benchmarks/select",
                          exclude: ["run.sh", "latency.sh", "under-load.sh"], swiftSettings: strict),
        .executableTarget(name: "track-bench", dependencies: ["RotoVision", "RotoMedia"], path: "Benchmarks/track",
                          exclude: ["run.sh"], swiftSettings: strict),
        .executableTarget(name: "edit-bench", dependencies: ["RotoVision", "RotoMedia"], path: "Benchmarks/edit",
                          exclude: ["run.sh"], swiftSettings: strict),

        // Test helpers shared by the server and client tests (ffmpeg-made clips).
        .target(name: "RotoTestSupport", path: "Tests/RotoTestSupport", swiftSettings: strict),
        .testTarget(name: "RotoCoreTests", dependencies: ["RotoCore", "RotoAPI"], swiftSettings: strict),
        .testTarget(name: "RotoMediaTests", dependencies: ["RotoMedia", "RotoThreads"], swiftSettings: strict),
        .testTarget(name: "RotoVisionTests", dependencies: ["RotoVision"], resources: [.copy("Fixtures")],
                    swiftSettings: strict),
        .testTarget(name: "RotoServerTests", dependencies: [
            "RotoServer", "RotoStore", "RotoAPI", "RotoCore", "RotoMedia", "RotoTestSupport",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "Crypto", package: "swift-crypto"),
        ], swiftSettings: strict),
        // The SDK and the `roto` binary end to end against a live in-process server on a free port.
        .testTarget(name: "RotoClientTests", dependencies: [
            "RotoClient", "RotoAPI", "RotoServer", "RotoVision", "RotoTestSupport",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),
    ]
)
