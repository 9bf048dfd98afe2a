import Foundation
import Testing
@testable import TollgateCore

/// An Anthropic client's count through a gateway, and what every provider counter's tests check.
enum CountTokensChecks {
    static let anthropicHeaders = [("x-api-key", GatewayHarness.clientKey), ("anthropic-version", "2023-06-01"),
                                   ("content-type", "application/json")]
    static let countBody = #"""
    {"model":"MODEL","system":"Answer in French.","messages":[{"role":"user","content":"Say hello to everyone"}],
     "tools":[{"name":"get_weather","description":"Weather for a city","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}]}
    """#

    /// The mock counters' stand-in tokenizer: the words of every string under one of `keys`.
    static func words(in values: [JSONValue?], keys: Set<String>) -> Int {
        func walk(_ value: JSONValue, key: String?) -> Int {
            switch value {
            case .string(let text) where keys.contains(key ?? ""): text.split(separator: " ").count
            case .array(let items): items.reduce(0) { $0 + walk($1, key: nil) }
            case .object(let members): members.reduce(0) { $0 + walk($1.value, key: $1.key) }
            default: 0
            }
        }
        return values.reduce(0) { $0 + ($1.map { walk($0, key: "system") } ?? 0) }
    }

    static func count(_ harness: GatewayHarness, model: String, text: String = "Say hello to everyone",
                      headers: [(String, String)] = []) async throws -> TestResponse {
        let body = countBody.replacingOccurrences(of: "MODEL", with: model).replacingOccurrences(of: "Say hello to everyone", with: text)
        return try await harness.client.fetch(port: harness.port, path: "/v1/messages/count_tokens",
                                              headers: anthropicHeaders + headers, body: Array(body.utf8))
    }

    /// A mock counter's magic first texts: answers without a usable count are 502s, a refusal
    /// keeps its status, each in Anthropic's error shape.
    static func expectRefusalsAndBadAnswers(_ harness: GatewayHarness, model: String, refusal: String) async throws {
        for text in ["no count", "not json", "huge", "negative"] {
            let bad = try await count(harness, model: model, text: text)
            #expect(bad.status == 502, "\(model), \(text): \(bad.text)")
            #expect(bad.json?["type"]?.stringValue == "error", "\(model), \(text): \(bad.text)")
            #expect(bad.json?["error"]?["message"]?.stringValue?.contains("token count answer") == true, "\(model), \(text): \(bad.text)")
            #expect(bad.header("x-tollgate-estimated") == nil)
        }
        let refused = try await count(harness, model: model, text: "invalid")
        #expect(refused.status == 400, "\(model): \(refused.text)")
        #expect(refused.json?["type"]?.stringValue == "error" && refused.json?["error"]?["type"]?.stringValue == "invalid_request_error")
        #expect(refused.json?["error"]?["message"]?.stringValue?.contains(refusal) == true, "\(refused.text)")
        // Last: a 429 cools the channel down.
        let throttled = try await count(harness, model: model, text: "throttle")
        #expect(throttled.status == 429 && throttled.json?["error"]?["type"]?.stringValue == "rate_limit_error", "\(model): \(throttled.text)")
    }
}

extension [UInt8] {
    var asString: String { String(decoding: self, as: UTF8.self) }
}
