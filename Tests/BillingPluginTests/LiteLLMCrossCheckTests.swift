import Foundation
import Testing
import TollgatePluginKit
@testable import BillingPlugin

/// Tollgate's costs against LiteLLM's for the same entry and usage (the fixture comes from
/// `scripts/litellm-cost-fixture.py`). Cases where Tollgate's rule deliberately differs carry a
/// `difference` and must still differ, so a stale reason cannot linger.
@Suite struct LiteLLMCrossCheckTests {
    struct Case: Decodable, CustomTestStringConvertible {
        var model: String
        var entry: String
        var note: String
        var usage: [String: Int64]
        var batch: Bool
        var priority: Bool
        var litellm_cost: String
        var litellm_nano: Int64
        var half_nano: Bool?
        var difference: String?
        var testDescription: String { "\(entry) \(note)\(batch ? " (batch)" : "")\(priority ? " (priority)" : "")" }
    }

    struct Fixture: Decodable {
        var litellm: String
        var cases: [Case]
    }

    static let fixture: Fixture? = {
        guard let url = Bundle.module.url(forResource: "litellm-costs", withExtension: "json", subdirectory: "Fixtures"),
              let data = try? Data(contentsOf: url) else { return nil }
        return try? JSONDecoder().decode(Fixture.self, from: data)
    }()

    @Test func fixtureIsLargeEnough() throws {
        let fixture = try #require(Self.fixture)
        #expect(fixture.litellm == "1.108.7")
        #expect(fixture.cases.count >= 60)
        let providers = Set(fixture.cases.map { $0.entry.hasPrefix("dashscope/") ? "dashscope" : $0.entry.hasPrefix("gemini/") ? "gemini" : $0.model })
        #expect(providers.contains("dashscope") && providers.contains("gemini"))
    }

    @Test(arguments: fixture?.cases ?? [])
    func matchesLiteLLM(_ c: Case) throws {
        let entry = try PriceEntry(entry: LiteLLMPrices.entry(c.entry))
        let u = c.usage
        let nano = try Billing.nano(entry, prompt: u["prompt"] ?? 0, completion: u["completion"] ?? 0, cacheRead: u["cache_read"],
                                    cacheCreation: u["cache_creation"], cacheCreation1h: u["cache_creation_1h"],
                                    audioPrompt: u["audio_prompt"], audioCompletion: u["audio_completion"], reasoning: u["reasoning"],
                                    batch: c.batch, priority: c.priority)
        if let reason = c.difference {
            #expect(nano != c.litellm_nano, "listed as a difference but equal to LiteLLM: \(reason)")
        } else if c.half_nano == true {
            // LiteLLM's float sum of an exact x.5 nano lands a hair either side of .5.
            #expect(abs(nano - c.litellm_nano) <= 1, "LiteLLM \(c.litellm_cost)")
        } else {
            #expect(nano == c.litellm_nano, "LiteLLM \(c.litellm_cost)")
        }
    }
}
