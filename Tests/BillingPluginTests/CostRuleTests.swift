import Testing
import TollgatePluginKit
@testable import BillingPlugin

@Suite struct CostRuleTests {
    typealias B = Billing

    // MARK: SPEC worked examples

    @Test func segmentedTiersAreTaxBrackets() throws {
        let entry = try B.entry(B.specTiers(mode: "segmented"))
        // 32K × 1.2 + 96K × 2.4 + 22K × 3.0 = $0.3348
        #expect(try B.nano(entry, prompt: 150_000) == 334_800_000)
        let bill = try entry.bill(B.request(prompt: 150_000))
        #expect(bill.rule == "tiered")
        #expect(bill.lines.map(\.tokens) == [32_000, 96_000, 22_000])
        #expect(bill.lines.map(\.tier) == [0, 1, 2])
        // Past the last tier: the rest at the last tier's price. 32K×1.2 + 96K×2.4 + 172K×3.0
        #expect(try B.nano(entry, prompt: 300_000) == 784_800_000)
        // Output at the tier the prompt falls in.
        #expect(try B.nano(entry, prompt: 150_000, completion: 1_000) == 334_800_000 + 15_000_000)
    }

    @Test func segmentedCachedPrefixTakesTheFirstBrackets() throws {
        let entry = try B.entry(B.specTiers(mode: "segmented"))
        // 40K cached (32K at 10% of 1.2, 8K at 10% of 2.4) then 10K uncached at 2.4.
        let nano = try B.nano(entry, prompt: 50_000, cacheRead: 40_000)
        #expect(nano == 3_840_000 + 1_920_000 + 24_000_000)
    }

    @Test func wholeRequestTiersPriceEverythingAtOneTier() throws {
        let entry = try B.entry(B.specTiers(mode: "whole-request"))
        #expect(try B.nano(entry, prompt: 150_000) == 450_000_000)
        #expect(try B.nano(entry, prompt: 32_000) == 38_400_000, "a tier is (start, end]: 32000 stays in the first")
        #expect(try B.nano(entry, prompt: 32_001) == 76_802_400)
        #expect(try B.nano(entry, prompt: 300_000, completion: 1_000) == 900_000_000 + 15_000_000, "past the last tier")
        // whole-request is the default.
        let unnamed = try B.entry(B.specTiers(mode: "whole-request").replacingOccurrences(of: #""tiered_mode": "whole-request","#, with: ""))
        #expect(unnamed.tieredMode == .wholeRequest)
        #expect(try B.nano(unnamed, prompt: 150_000) == 450_000_000)
    }

    @Test func cachedPromptAtTheCachePrice() throws {
        // 50K uncached × $3 + 50K cached × $0.30 + 50K out × $15 = $0.915
        let entry = try B.entry(B.sonnet)
        #expect(try B.nano(entry, prompt: 100_000, completion: 50_000, cacheRead: 50_000) == 915_000_000)
        let bill = try entry.bill(B.request(prompt: 100_000, completion: 50_000, cacheRead: 50_000))
        #expect(bill.rule == "standard")
        #expect(bill.lines.map(\.kind) == [.cacheRead, .input, .output])
    }

    @Test func cacheDefaultsAndOneHourWrites() throws {
        let plain = try B.entry(#"{"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06}"#)
        // reads at 10% of input, writes at 125%
        #expect(try B.nano(plain, prompt: 10_000, cacheRead: 4_000, cacheCreation: 4_000) == 2_000 * 1_000 + 4_000 * 100 + 4_000 * 1_250)
        // 1-hour writes at the 5-minute price when the entry has no 1-hour price
        #expect(try B.nano(plain, prompt: 10_000, cacheCreation: 4_000, cacheCreation1h: 1_000) == 6_000 * 1_000 + 4_000 * 1_250)
        let claude = try B.entry(#"{"input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05, "cache_read_input_token_cost": 3e-07, "cache_creation_input_token_cost": 3.75e-06, "cache_creation_input_token_cost_above_1hr": 6e-06}"#)
        #expect(try B.nano(claude, prompt: 10_000, cacheRead: 3_000, cacheCreation: 5_000, cacheCreation1h: 1_000)
            == 2_000 * 3_000 + 3_000 * 300 + 4_000 * 3_750 + 1_000 * 6_000)
    }

    @Test func batchAndPriorityDefaults() throws {
        let entry = try B.entry(B.sonnet)
        let standard = try B.nano(entry, prompt: 100_000, completion: 50_000)
        #expect(standard == 1_050_000_000)
        #expect(try B.nano(entry, prompt: 100_000, completion: 50_000, batch: true) == 525_000_000)
        #expect(try B.nano(entry, prompt: 100_000, completion: 50_000, priority: true) == 1_785_000_000)
        #expect(try B.nano(entry, prompt: 100_000, completion: 50_000, batch: true, priority: true) == 1_785_000_000, "priority before batch")
        #expect(try entry.bill(B.request(prompt: 1, batch: true)).rule == "batch")
    }

    @Test func explicitBatchAndPriorityPrices() throws {
        let entry = try B.entry(#"{"input_cost_per_token": 2e-06, "output_cost_per_token": 8e-06, "cache_read_input_token_cost": 5e-07, "input_cost_per_token_batches": 1e-06, "output_cost_per_token_batches": 4e-06, "input_cost_per_token_priority": 3.5e-06, "output_cost_per_token_priority": 1.4e-05, "cache_read_input_token_cost_priority": 8.75e-07}"#)
        #expect(try B.nano(entry, prompt: 1_000, completion: 1_000, batch: true) == 1_000 * 1_000 + 1_000 * 4_000)
        #expect(try B.nano(entry, prompt: 1_000, completion: 1_000, cacheRead: 500, priority: true) == 500 * 3_500 + 500 * 875 + 1_000 * 14_000)
        // batch cache read: no *_batches price, so 50% of the cache-read price
        #expect(try B.nano(entry, prompt: 1_000, cacheRead: 500, batch: true) == 500 * 1_000 + 500 * 250)
    }

    @Test func thresholdsPriceTheWholeRequest() throws {
        let entry = try B.entry(#"{"input_cost_per_token": 1.25e-06, "output_cost_per_token": 1e-05, "cache_read_input_token_cost": 1.25e-07, "input_cost_per_token_above_200k_tokens": 2.5e-06, "output_cost_per_token_above_200k_tokens": 1.5e-05, "cache_read_input_token_cost_above_200k_tokens": 2.5e-07, "input_cost_per_token_priority": 2.25e-06, "input_cost_per_token_above_200k_tokens_priority": 4.5e-06}"#)
        #expect(try B.nano(entry, prompt: 200_000) == 250_000_000, "at the threshold: not above")
        // 200,000 uncached × $2.50 + 1 cached × $0.25 + 1,000 out × $15 (per 1M)
        #expect(try B.nano(entry, prompt: 200_001, completion: 1_000, cacheRead: 1) == 500_000_000 + 250 + 15_000_000)
        let bill = try entry.bill(B.request(prompt: 200_001, priority: true))
        #expect(bill.rule == "tiered" && bill.threshold == 200_000)
        #expect(bill.lines.first?.pricePerMillionNano == 4_500_000_000, "the threshold's own priority price")
        // tiered before priority: output has no _above_200k_tokens_priority, so the threshold price.
        let out = try entry.bill(B.request(prompt: 200_001, completion: 10, priority: true))
        #expect(out.lines.last?.pricePerMillionNano == 15_000_000_000)
        // tiered before batch
        #expect(try entry.bill(B.request(prompt: 200_001, batch: true)).lines.first?.pricePerMillionNano == 2_500_000_000)
    }

    @Test func tieredPricingBeatsPriorityAndBatch() throws {
        let entry = try B.entry(B.specTiers(mode: "whole-request"))
        #expect(try B.nano(entry, prompt: 150_000, priority: true) == 450_000_000)
        #expect(try B.nano(entry, prompt: 150_000, batch: true) == 450_000_000)
    }

    @Test func audioAndReasoning() throws {
        let audio = try B.entry(#"{"input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05, "input_cost_per_audio_token": 3.2e-05, "output_cost_per_audio_token": 6.4e-05}"#)
        #expect(try B.nano(audio, prompt: 2_000, completion: 1_500, audioPrompt: 1_200, audioCompletion: 1_000)
            == 800 * 2_500 + 1_200 * 32_000 + 500 * 10_000 + 1_000 * 64_000)
        let noAudioPrice = try B.entry(#"{"input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05}"#)
        #expect(try B.nano(noAudioPrice, prompt: 2_000, audioPrompt: 1_200) == 2_000 * 2_500)
        let reasoning = try B.entry(#"{"input_cost_per_token": 5e-08, "output_cost_per_token": 2e-07, "output_cost_per_reasoning_token": 5e-07}"#)
        #expect(try B.nano(reasoning, prompt: 8_000, completion: 3_000, reasoning: 2_000) == 8_000 * 50 + 1_000 * 200 + 2_000 * 500)
        #expect(try B.nano(noAudioPrice, completion: 3_000, reasoning: 2_000) == 3_000 * 10_000, "no reasoning price: output price")
    }

    @Test func regionsFallBackToTheUniversalPrice() throws {
        let entry = try B.entry(#"{"currency": "CNY", "input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06, "regions": {"cn": {"input_cost_per_token": 5e-07}, "international": {"output_cost_per_token": 4e-06}}}"#)
        #expect(try B.nano(entry, prompt: 1_000, completion: 1_000) == 3_000_000)
        #expect(try B.nano(entry, prompt: 1_000, completion: 1_000, region: "cn") == 2_500_000)
        #expect(try B.nano(entry, prompt: 1_000, completion: 1_000, region: "international") == 5_000_000)
        let result = try entry.cost(B.request(prompt: 1, region: "cn"))
        #expect(result.currency == "CNY")
        #expect(try entry.bill(B.request(prompt: 1, region: "cn")).region == "cn")
        let universalOnly = try B.entry(B.sonnet)
        #expect(try universalOnly.bill(B.request(prompt: 1, region: "cn")).region == "universal")
        #expect(B.failure { _ = try universalOnly.cost(B.request(prompt: 1, region: "eu")) }?.message
            == "unknown region \"eu\" (cn, international, or empty for universal)")
    }

    @Test func currencyDefaultsToUSD() throws {
        #expect(try B.entry(B.sonnet).cost(B.request(prompt: 1)).currency == "USD")
        #expect(try B.entry(#"{"currency": "EUR", "input_cost_per_token": 1e-06}"#).currency == "EUR")
    }

    /// The total is the exact sum divided by 1e6 once, rounded half up.
    @Test func roundsOnceHalfUp() throws {
        let entry = try B.entry(#"{"input_cost_per_token": 4e-10, "output_cost_per_token": 4e-10}"#)
        #expect(try B.nano(entry, prompt: 1, completion: 1) == 1, "0.4 + 0.4 = 0.8 nano rounds to 1 (lines alone would give 0)")
        let half = try B.entry(#"{"input_cost_per_token": 1.5e-09}"#)
        #expect(try B.nano(half, prompt: 1) == 2)
        #expect(try B.nano(half, prompt: 3) == 5, "4.5 rounds up")
        #expect(try B.nano(entry, prompt: 1) == 0, "0.4 rounds down")
        // a literal finer than 1 nano per 1M rounds when compiled
        let fine = try B.entry(#"{"input_cost_per_token": 1.2345678901234567e-06}"#)
        #expect(try B.nano(fine, prompt: 1_000_000) == 1_234_567_890)
    }

    @Test func missingPriceIsAnErrorNotZero() throws {
        let noPrices = try B.entry(#"{"mode": "image_generation", "output_cost_per_image": 0.04}"#)
        #expect(try B.nano(noPrices) == 0, "nothing used, nothing needed")
        let failure = B.failure { _ = try B.nano(noPrices, prompt: 10) }
        #expect(failure?.kind == .config)
        #expect(failure?.message == "no price for input tokens (10): the entry has no input_cost_per_token")
        let inputOnly = try B.entry(#"{"input_cost_per_token": 1e-06}"#)
        #expect(B.failure { _ = try B.nano(inputOnly, prompt: 10, completion: 5) }?.message
            == "no price for output tokens (5): the entry has no output_cost_per_token")
        #expect(B.failure { _ = try B.nano(noPrices, prompt: 10, cacheRead: 10) }?.message
            == "no price for cache_read tokens (10): the entry has no cache_read_input_token_cost, or input_cost_per_token it defaults from")
    }

    @Test func inconsistentUsageIsRefused() throws {
        let entry = try B.entry(B.sonnet)
        #expect(B.failure { _ = try B.nano(entry, prompt: 10, cacheRead: 8, cacheCreation: 5) }?.message
            == "usage: cache reads (8) and writes (5) exceed prompt tokens (10)")
        #expect(B.failure { _ = try B.nano(entry, completion: 10, reasoning: 11) }?.kind == .invalidInput)
        #expect(B.failure { _ = try B.nano(entry, prompt: -1) }?.message == "usage: negative prompt tokens (-1)")
        #expect(B.failure { _ = try B.nano(entry, prompt: 10, cacheCreation: 2, cacheCreation1h: 3) }?.kind == .invalidInput)
    }

    @Test func breakdownNamesTheRuleAndLines() throws {
        let entry = try B.entry(B.sonnet)
        let result = try entry.cost(B.request(prompt: 100_000, completion: 50_000, cacheRead: 50_000))
        let json = try JSONParser.parse(result.breakdown)
        #expect(json["rule"]?.stringValue == "standard")
        #expect(json["currency"]?.stringValue == "USD")
        #expect(json["nano_units"]?.int64Value == 915_000_000)
        let lines = json["lines"]?.arrayValue ?? []
        #expect(lines.count == 3)
        #expect(lines.first?["kind"]?.stringValue == "cache_read")
        #expect(lines.first?["tokens"]?.int64Value == 50_000)
        #expect(lines.first?["price_per_1m_nano"]?.int64Value == 300_000_000)
        #expect(lines.first?["nano"]?.int64Value == 15_000_000)
    }

    /// The example in docs/billing.md: Gemini 2.5 Pro above 200k with the priority flag.
    @Test func documentedBreakdown() throws {
        let entry = try PriceEntry(entry: LiteLLMPrices.entry("gemini/gemini-2.5-pro"))
        let result = try entry.cost(B.request(prompt: 250_000, completion: 3_000, cacheRead: 100_000, priority: true))
        #expect(String(decoding: result.breakdown, as: UTF8.self) == """
            {"rule":"tiered","service":"priority","region":"universal","currency":"USD","nano_units":801000000,\
            "rounding":"half-up, once on the exact sum; line nano values are rounded alone","threshold":200000,\
            "lines":[{"kind":"cache_read","tokens":100000,"price_per_1m_nano":450000000,"nano":45000000},\
            {"kind":"input","tokens":150000,"price_per_1m_nano":4500000000,"nano":675000000},\
            {"kind":"output","tokens":3000,"price_per_1m_nano":27000000000,"nano":81000000}]}
            """)
    }
}
