import Testing
import TollgatePluginKit
@testable import BillingPlugin

@Suite struct PriceValidationTests {
    func message(_ json: String) -> String? {
        Billing.failure { _ = try Billing.entry(json) }.map { error in
            #expect(error.kind == .config)
            return error.message
        }
    }

    @Test func refusesBadPrices() {
        #expect(message(#"{"input_cost_per_token": -1e-06}"#) == "input_cost_per_token: negative price -1e-06")
        #expect(message(#"{"output_cost_per_token": "3e-06"}"#) == #"output_cost_per_token: expected a number, got the string "3e-06""#)
        #expect(message(#"{"cache_read_input_token_cost_above_200k_tokens_priority": true}"#)
            == "cache_read_input_token_cost_above_200k_tokens_priority: expected a number, got true")
        #expect(message(#"{"input_cost_per_token": 5000}"#) == "input_cost_per_token: price 5000 is above 1000 per token")
        #expect(message(#"{"regions": {"cn": {"input_cost_per_token": -1}}}"#) == "regions.cn.input_cost_per_token: negative price -1")
    }

    @Test func refusesBadTiers() {
        func tiers(_ ranges: String) -> String {
            #"{"tiered_pricing": ["# + ranges + "]}"
        }
        #expect(message(tiers(#"{"range": [0, 2000], "input_cost_per_token": 1e-06}, {"range": [2000, 1000], "input_cost_per_token": 2e-06}"#))
            == "tiered_pricing[1].range: end 1000 is before start 2000")
        #expect(message(tiers(#"{"range": [0, 0], "input_cost_per_token": 1e-06}"#))
            == "tiered_pricing[0].range: end 0 is not after start 0")
        #expect(message(tiers(#"{"range": [0, 2000], "input_cost_per_token": 1e-06}, {"range": [1000, 3000], "input_cost_per_token": 2e-06}"#))
            == "tiered_pricing[1].range: start 1000 overlaps tiered_pricing[0] (0-2000)")
        #expect(message(tiers(#"{"range": [2000, 3000], "input_cost_per_token": 1e-06}, {"range": [0, 2000], "input_cost_per_token": 2e-06}"#))
            == "tiered_pricing[0].range: the first tier must start at 0, not 2000")
        #expect(message(tiers(#"{"range": [0, 2000], "input_cost_per_token": 1e-06}, {"range": [3000, 4000], "input_cost_per_token": 2e-06}, {"range": [0, 10], "input_cost_per_token": 2e-06}"#))
            == "tiered_pricing[1].range: gap after tiered_pricing[0], which ends at 2000")
        #expect(message(tiers(#"{"range": [0, 2000], "input_cost_per_token": 1e-06}, {"range": [2000, 4000], "input_cost_per_token": 2e-06}, {"range": [1000, 5000], "input_cost_per_token": 2e-06}"#))
            == "tiered_pricing[2].range: tiers must be sorted by start (1000 comes after 2000)")
        #expect(message(tiers(#"{"range": [0, 1.5], "input_cost_per_token": 1e-06}"#))
            == "tiered_pricing[0].range: 1.5 is not a whole, non-negative token count")
        #expect(message(tiers(#"{"range": [0, 2000], "output_cost_per_token": 1e-06}"#))
            == "tiered_pricing[0].input_cost_per_token: missing")
        #expect(message(tiers(#"{"input_cost_per_token": 1e-06}"#)) == "tiered_pricing[0].range: missing")
        #expect(message(tiers(#"{"range": [0, 10], "input_cost_per_token": -1e-06}"#))
            == "tiered_pricing[0].input_cost_per_token: negative price -1e-06")
        #expect(message(#"{"tiered_pricing": {"range": [0, 1]}}"#) == "tiered_pricing: expected a list of tiers, got an object")
        #expect(message(#"{"tiered_pricing": [3]}"#) == "tiered_pricing[0]: expected an object, got 3")
    }

    @Test func refusesBadExtensions() {
        #expect(message(#"{"tiered_mode": "progressive"}"#) == #"tiered_mode: unknown mode "progressive" (segmented or whole-request)"#)
        #expect(message(#"{"currency": "usd"}"#) == #"currency: the string "usd" is not an ISO 4217 code (three capital letters, e.g. "USD")"#)
        #expect(message(#"{"currency": "DOLLAR"}"#)?.hasPrefix("currency:") == true)
        #expect(message(#"{"regions": {"eu": {}}}"#) == "regions.eu: unknown region (cn or international)")
        #expect(message(#"{"regions": {"cn": 1}}"#) == "regions.cn: expected an object of prices, got 1")
        #expect(message(#"[1, 2]"#) == "price entry: expected a JSON object, got a list")
        #expect(message(#"{"input_cost_per_token": "#)?.hasPrefix("price entry is not JSON") == true)
    }

    @Test func ignoresFieldsItDoesNotPrice() throws {
        // Per-image, per-second, flex and per-query tiers are not token prices.
        let entry = try Billing.entry(#"{"input_cost_per_token": 1e-06, "output_cost_per_image": 0.04, "input_cost_per_token_flex": "n/a", "search_context_cost_per_query": {"low": 0.01}, "tiered_pricing": [{"input_cost_per_query": 0.005, "max_results_range": [0, 25]}], "input_cost_per_token_batches": null}"#)
        #expect(try Billing.nano(entry, prompt: 1_000) == 1_000_000)
        #expect(try Billing.nano(entry, prompt: 1_000, batch: true) == 500_000, "null batch price: the default")
    }

    @Test func parsesFieldNames() {
        #expect(PriceKey(field: "input_cost_per_token") == PriceKey(kind: .input))
        #expect(PriceKey(field: "input_cost_per_token_above_200k_tokens_priority") == PriceKey(kind: .input, threshold: 200_000, mode: .priority))
        #expect(PriceKey(field: "cache_creation_input_token_cost_above_1hr") == PriceKey(kind: .cacheCreation1h))
        #expect(PriceKey(field: "cache_creation_input_token_cost_above_1hr_above_200k_tokens") == PriceKey(kind: .cacheCreation1h, threshold: 200_000))
        #expect(PriceKey(field: "output_cost_per_token_above_128_tokens_batches") == PriceKey(kind: .output, threshold: 128, mode: .batch))
        #expect(PriceKey(field: "input_cost_per_token_flex") == nil)
        #expect(PriceKey(field: "input_cost_per_token_above_272k_tokens_flex") == nil)
        #expect(PriceKey(field: "input_cost_per_image") == nil)
    }

    /// Every entry of the bundled list compiles (LiteLLM's own data is valid price data).
    @Test func compilesTheWholeBundledList() throws {
        let list = try LiteLLMPrices.list()
        var compiled = 0
        for member in list.objectValue ?? [] where member.key != "sample_spec" {
            do {
                _ = try PriceEntry(entry: member.value)
                compiled += 1
            } catch {
                Issue.record("\(member.key): \(error.message)")
            }
        }
        #expect(compiled > 1000)
    }
}
