import Foundation
import Logging
import BillingPlugin
import NIOConcurrencyHelpers
@testable import TollgateCore

/// A gateway started in-process on a free port with a temporary data directory.
struct GatewayHarness {
    static let clientKey = "sk-test-client-key-123"
    let gateway: Gateway
    let port: Int
    let records: RecordCollector
    let dataDirectory: String
    let client = TestClient()

    /// `yaml` is the config without listen/data_dir/keys; they are added here.
    /// `extraKeys` are more YAML items for `keys:`; `dataDirectory` reuses a directory (a restart);
    /// `configure` adjusts what YAML cannot say (e.g. the notifier's backoff).
    static func start(_ yaml: String, pluginsDirectory: String? = nil, extraKeys: String = "", dataDirectory: String? = nil,
                      linkedPlugins: [(String, () -> UnsafeRawPointer?)] = [],
                      configure: ((inout GatewayConfig) -> Void)? = nil) async throws -> GatewayHarness {
        let dir = dataDirectory
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("tollgate-test-\(UUID().uuidString)").path
        var text = """
        listen: 127.0.0.1:0
        data_dir: \(dir)
        keys:
          - { name: tester, key: \(clientKey) }
        """
        if !extraKeys.isEmpty { text += "\n" + extraKeys }
        if let pluginsDirectory { text += "\nplugins: { dir: \(pluginsDirectory) }" }
        text += "\n" + yaml
        // Tests never reach the internet: prices come from the bundled list unless a test syncs.
        if !yaml.contains("pricing:") { text += "\npricing: { sync_url: off }" }
        var config = try ConfigLoader.parse(text, file: "test.yaml")
        configure?(&config)
        var linkedPlugins = linkedPlugins
        if pluginsDirectory == nil {
            config.pluginsDirectory = dir + "/no-plugins"
            linkedPlugins.insert(("billing", { billingPluginDescriptor() }), at: 0)  // every gateway bills
        }
        var logger = Logger(label: "test")
        logger.logLevel = .error
        let records = RecordCollector()
        let gateway = try await Gateway.make(config: config, logger: logger, recorder: records, linkedPlugins: linkedPlugins)
        let port = try await gateway.start()
        return GatewayHarness(gateway: gateway, port: port, records: records, dataDirectory: dir)
    }

    func stop() async {
        await client.shutdown()
        await gateway.stop()
        try? FileManager.default.removeItem(atPath: dataDirectory)
    }

    func chat(_ json: String, path: String = "/v1/chat/completions") async throws -> TestResponse {
        try await client.fetch(port: port, path: path, key: Self.clientKey, json: json)
    }
}

/// Keeps every request record the gateway hands over.
final class RecordCollector: RequestRecorder {
    private let box = NIOLockedValueBox<[RequestRecord]>([])
    func record(_ record: RequestRecord) { box.withLockedValue { $0.append(record) } }
    var all: [RequestRecord] { box.withLockedValue { $0 } }

    /// The record of a request id, once it arrives (a record is written just after the response;
    /// the minute's bound only keeps a broken gateway from hanging the test).
    func waitFor(_ requestID: String?) async -> RequestRecord? {
        for _ in 0..<6000 {
            if let found = all.first(where: { $0.requestID == requestID }) { return found }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }
}

/// Where `swift build` put the package's products (plugin .so files).
enum BuildProducts {
    static var directory: String {
        // The test bundle runs from .build/<triple>/debug; products sit beside it.
        let candidates = [Bundle.main.bundlePath, CommandLine.arguments.first.map { ($0 as NSString).deletingLastPathComponent } ?? ""]
        for candidate in candidates where FileManager.default.fileExists(atPath: candidate + "/libtollgate-ollama-native.so") {
            return candidate
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(".build/debug").path
    }

    static var packageRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().path
    }
}
