import Foundation
@testable import TollgateCore

/// Reading health state in tests.
extension GatewayHarness {
    /// The health view of one (channel, upstream model), as `/admin/health` shows it.
    func health(_ channel: String, _ model: String) -> JSONValue? {
        let report = AdminHealth.report(runtime: gateway.runtime)
        let entry = report["channels"]?.arrayValue?.first { $0["name"]?.stringValue == channel }
        return entry?["models"]?.arrayValue?.first { $0["model"]?.stringValue == model }
    }

    func channelHealth(_ channel: String) -> JSONValue? {
        AdminHealth.report(runtime: gateway.runtime)["channels"]?.arrayValue?.first { $0["name"]?.stringValue == channel }
    }

    func status(_ channel: String, _ model: String) -> String? { health(channel, model)?["status"]?.stringValue }
    func breaker(_ channel: String, _ model: String) -> String? { health(channel, model)?["breaker"]?["state"]?.stringValue }
    func channelBreaker(_ channel: String) -> String? { channelHealth(channel)?["breaker"]?["state"]?.stringValue }
    func adaptiveLimit(_ channel: String, _ model: String) -> Int? {
        health(channel, model)?["adaptive_limit"]?["limit"]?.int64Value.map(Int.init)
    }

    static let hello = #"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#

    /// Waits (generously) until `condition` holds.
    /// Waits for an event (the condition turning true), not for a time: the bound (a minute) is
    /// only there so a broken gateway fails the test instead of hanging it.
    static func eventually(_ condition: () async -> Bool) async -> Bool {
        for _ in 0..<3000 {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }
}
