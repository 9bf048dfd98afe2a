// swift-tools-version:6.1
// libFuzzer targets for Tollgate's parsers. A package of its own so that its flags
// (-sanitize=fuzzer,address) never touch the main build; `scripts/fuzz` builds it into
// Fuzz/.build and runs each target for a bounded time. Swift 5 mode: a fuzz target is
// single-threaded top-level code handing its function to libFuzzer.
import PackageDescription

let fuzzTargets: [(name: String, dependencies: [Target.Dependency])] = [
    ("FuzzSSE", [.product(name: "TollgateCore", package: "Tollgate")]),
    ("FuzzStreams", [.product(name: "TollgateCore", package: "Tollgate")]),
    ("FuzzEventStream", [.product(name: "BedrockPlugin", package: "Tollgate")]),
    ("FuzzClaudeAnswer", [.product(name: "AnthropicWire", package: "Tollgate")]),
    ("FuzzClaudeRequest", [.product(name: "AnthropicWire", package: "Tollgate")]),
    ("FuzzAnswer", [.product(name: "TollgateCore", package: "Tollgate"), .product(name: "NIOCore", package: "swift-nio")]),
    ("FuzzClientRequest", [.product(name: "TollgateCore", package: "Tollgate"), .product(name: "NIOCore", package: "swift-nio")]),
    ("FuzzJSONPath", [.product(name: "TollgateCore", package: "Tollgate")]),
    ("FuzzTemplate", [.product(name: "TollgateCore", package: "Tollgate")]),
    ("FuzzConfig", [.product(name: "TollgateCore", package: "Tollgate")]),
    ("FuzzRequest", [.product(name: "TollgateCore", package: "Tollgate")]),
    ("FuzzPrices", [.product(name: "TollgateCore", package: "Tollgate")]),
    ("FuzzAdmin", [.product(name: "TollgateCore", package: "Tollgate"), .product(name: "BillingPlugin", package: "Tollgate")]),
]

let package = Package(
    name: "TollgateFuzz",
    dependencies: [.package(name: "Tollgate", path: ".."), .package(url: "https://github.com/apple/swift-nio", from: "2.101.2")],
    targets: [.target(name: "CFuzzDriver"), .target(name: "FuzzSupport", dependencies: ["CFuzzDriver"])]
        + fuzzTargets.map { .executableTarget(name: $0.name, dependencies: $0.dependencies + ["FuzzSupport"]) },
    swiftLanguageModes: [.v5]
)
