import Foundation
import Testing
@testable import TollgateCore

/// Names are clean before anything is recorded: a model name with control characters, or
/// longer than any real one, is a 400 and never reaches health, the ledger or an upstream.
@Suite struct CleanNamesTests {
    @Test func controlCharactersInAModelNameAreRefused() async throws {
        let upstream = try await ScriptedUpstream.start()
        let harness = try await GatewayHarness.start("""
        health: { probes: false }
        channels:
          - { name: any, provider: openai, base_url: "\(upstream.baseURL)/v1", models: ["*"] }
        """)
        defer { Task { await harness.stop(); await upstream.stop() } }
        let long = String(repeating: "m", count: 257)
        for name in [#"gpt\u0000x"#, #"a\nb"#, #"tab\there"#, #"del\u007f"#, #"c1\u0085"#, #"c1-last\u009f"#, long] {
            let answer = try await harness.chat(#"{"model":"\#(name)","messages":[]}"#)
            #expect(answer.status == 400 && answer.json?["error"]?["code"]?.stringValue == "invalid_model", "\(name)")
        }
        let gemini = try await harness.chat(#"{"contents":[]}"#, path: "/v1beta/models/m%00x:generateContent")
        #expect(gemini.status == 400)
        #expect(upstream.served == 0)
        #expect(harness.channelHealth("any")?["models"]?.arrayValue?.isEmpty == true)
        #expect(harness.records.all.allSatisfy { $0.model == nil })
        // Ordinary names with punctuation still pass, and so do letters whose UTF-8 shares the C1
        // controls' lead byte (U+00A0 to U+00BF: 0xC2 0xA0 to 0xC2 0xBF).
        #expect(try await harness.chat(#"{"model":"org/model-1.5:free@v2","messages":[]}"#).status == 200)
        #expect(try await harness.chat(#"{"model":"price-\u00a2-\u00bf","messages":[]}"#).status == 200)
    }
}
