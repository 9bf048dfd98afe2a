// swift-tools-version:6.1
// Tollgate: a minimal gateway core, its CLI, the plugin ABI and kit, and every plugin as its own .so.
import PackageDescription

let package = Package(
    name: "Tollgate",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tollgate", targets: ["tollgate"]),
        .library(name: "TollgateCore", targets: ["TollgateCore"]),
        .library(name: "TollgatePluginKit", targets: ["TollgatePluginKit"]),
        // For Fuzz/ (a package of its own): the AWS event-stream decoder lives in the Bedrock plugin.
        .library(name: "BedrockPlugin", targets: ["BedrockPlugin"]),
        .library(name: "AnthropicWire", targets: ["AnthropicWire"]),  // for Fuzz/: the Claude conversions
        .library(name: "BillingPlugin", targets: ["BillingPlugin"]),  // for Fuzz/: admin price entries
        // Plugins: each its own shared object, found by the core at run time with dlopen.
        .library(name: "tollgate-ollama-native", type: .dynamic, targets: ["OllamaNativePlugin"]),
        .library(name: "tollgate-claude", type: .dynamic, targets: ["ClaudePluginEntry"]),
        .library(name: "tollgate-gemini", type: .dynamic, targets: ["GeminiPluginEntry"]),
        .library(name: "tollgate-bedrock", type: .dynamic, targets: ["BedrockPluginEntry"]),
        .library(name: "tollgate-vertex", type: .dynamic, targets: ["VertexPluginEntry"]),
        .library(name: "tollgate-billing", type: .dynamic, targets: ["BillingPluginEntry"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/vapor/sqlite-nio", from: "1.13.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        // Tracing: the OTLP/HTTP exporter only (no gRPC), so a clean build stays small.
        .package(url: "https://github.com/swift-otel/swift-otel", from: "1.6.0", traits: ["OTLPHTTP"]),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.3.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.4.1"),
    ],
    targets: [
        // The whole core<->plugin contract: one C header.
        .target(name: "TollgatePluginABI", path: "Sources/TollgatePluginABI"),
        .systemLibrary(name: "CJansson", path: "Sources/CJansson", pkgConfig: "jansson",
                       providers: [.apt(["libjansson-dev"])]),
        // The usage ledger's writer: one prepared statement on its own connection, through the
        // SQLite that SQLiteNIO bundles (SQLiteNIO's own API copies every bound text twice).
        .systemLibrary(name: "CSQLite3", path: "Sources/CSQLite3"),
        .systemLibrary(name: "CLibCrypto", path: "Sources/CLibCrypto", pkgConfig: "libcrypto",
                       providers: [.apt(["libssl-dev"])]),
        // What both sides of the ABI use in Swift: JSON over raw bytes, token usage, ABI buffers.
        .target(name: "TollgateShared", dependencies: ["TollgatePluginABI"]),
        .target(name: "TollgatePluginKit", dependencies: ["TollgatePluginABI", "TollgateShared"]),
        .target(
            name: "TollgateCore",
            dependencies: [
                "TollgatePluginABI", "TollgateShared", "CLibCrypto", "CSQLite3",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            // LiteLLM's price list, so a first run has prices offline (see README, "Prices").
            resources: [.copy("Resources/model_prices_and_context_window.json"), .copy("Resources/admin-page.html")]),
        .executableTarget(
            name: "tollgate",
            dependencies: ["TollgateCore", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // A plugin written in C with jansson: proves the ABI is language-neutral.
        .target(name: "OllamaNativePlugin", dependencies: ["TollgatePluginABI", "CJansson"],
                path: "Plugins/OllamaNative"),
        // Anthropic Messages bodies both ways (OpenAI <-> Anthropic, passthrough, usage), shared by
        // every plugin that reaches Claude: Claude, Vertex, Bedrock.
        .target(name: "AnthropicWire", dependencies: ["TollgatePluginKit"], path: "Plugins/AnthropicWire"),
        .testTarget(name: "AnthropicWireTests", dependencies: ["AnthropicWire", "ClaudePlugin", "TestSupport"]),
        // Anthropic Messages API, in Swift with the kit.
        .target(name: "ClaudePlugin", dependencies: ["TollgatePluginKit", "AnthropicWire"], path: "Plugins/Claude"),
        .target(name: "ClaudePluginEntry", dependencies: ["ClaudePlugin"], path: "Plugins/ClaudeEntry"),
        // Gemini: the wire conversions (shared with Vertex) and the Google AI plugin.
        .target(name: "GeminiWire", dependencies: ["TollgatePluginKit"], path: "Plugins/GeminiWire"),
        .target(name: "GeminiPlugin", dependencies: ["GeminiWire", "TollgatePluginKit"], path: "Plugins/Gemini"),
        .target(name: "GeminiPluginEntry", dependencies: ["GeminiPlugin"], path: "Plugins/GeminiEntry"),
        // Bedrock and SageMaker (SigV4, Converse, InvokeModel with Anthropic bodies, AWS event streams).
        .target(name: "BedrockPlugin", dependencies: ["TollgatePluginKit", "CLibCrypto", "AnthropicWire"], path: "Plugins/Bedrock"),
        .target(name: "BedrockPluginEntry", dependencies: ["BedrockPlugin"], path: "Plugins/BedrockEntry"),
        // Vertex AI: Claude (AnthropicWire) and Gemini (GeminiWire) with service-account OAuth
        // (RS256 JWTs signed with libcrypto).
        .target(name: "VertexPlugin", dependencies: ["TollgatePluginKit", "CLibCrypto", "AnthropicWire", "GeminiWire"],
                path: "Plugins/Vertex"),
        .target(name: "VertexPluginEntry", dependencies: ["VertexPlugin"], path: "Plugins/VertexEntry"),
        // Billing: LiteLLM price entries to exact integer costs (cache, tiers, priority, batch, regions).
        .target(name: "BillingPlugin", dependencies: ["TollgatePluginKit"], path: "Plugins/Billing"),
        .target(name: "BillingPluginEntry", dependencies: ["BillingPlugin"], path: "Plugins/BillingEntry"),
        .testTarget(name: "BillingPluginTests", dependencies: ["BillingPlugin", "TollgatePluginKit"], resources: [.copy("Fixtures")]),
        .testTarget(name: "BedrockPluginTests", dependencies: ["BedrockPlugin"], resources: [.copy("Fixtures")]),
        // For the tests: fixture tools (openssl, cc) run without Foundation's Process; a seeded generator.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "VertexPluginTests", dependencies: ["VertexPlugin", "TestSupport"]),
        .testTarget(name: "GeminiWireTests", dependencies: ["GeminiWire"]),
        .testTarget(
            name: "TollgateCoreTests",
            dependencies: ["TollgateCore", "TollgatePluginKit", "TollgateShared", "BedrockPlugin", "BillingPlugin", "TestSupport",
                           .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                           .product(name: "NIOPosix", package: "swift-nio"),
                           .product(name: "NIOEmbedded", package: "swift-nio"),
                           .product(name: "NIOHTTP1", package: "swift-nio"),
                           .product(name: "PostgresNIO", package: "postgres-nio"),
                           .product(name: "SQLiteNIO", package: "sqlite-nio")],
            resources: [.copy("Fixtures")]),
    ]
)
