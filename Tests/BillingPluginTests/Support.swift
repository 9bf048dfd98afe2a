import Testing
import TollgatePluginKit
@testable import BillingPlugin

/// Helpers shared by the billing tests.
enum Billing {
    static func entry(_ json: String) throws -> PriceEntry { try PriceEntry(json: json) }

    static func nano(_ entry: PriceEntry, prompt: Int64? = nil, completion: Int64? = nil, cacheRead: Int64? = nil,
                     cacheCreation: Int64? = nil, cacheCreation1h: Int64? = nil, audioPrompt: Int64? = nil,
                     audioCompletion: Int64? = nil, reasoning: Int64? = nil,
                     batch: Bool = false, priority: Bool = false, region: String = "") throws -> Int64 {
        try entry.cost(request(prompt: prompt, completion: completion, cacheRead: cacheRead, cacheCreation: cacheCreation,
                               cacheCreation1h: cacheCreation1h, audioPrompt: audioPrompt, audioCompletion: audioCompletion,
                               reasoning: reasoning, batch: batch, priority: priority, region: region)).nanoUnits
    }

    static func request(prompt: Int64? = nil, completion: Int64? = nil, cacheRead: Int64? = nil, cacheCreation: Int64? = nil,
                        cacheCreation1h: Int64? = nil, audioPrompt: Int64? = nil, audioCompletion: Int64? = nil,
                        reasoning: Int64? = nil, batch: Bool = false, priority: Bool = false, region: String = "") -> BillRequest {
        var usage = TokenUsage(prompt: prompt, completion: completion, cacheRead: cacheRead, cacheCreation: cacheCreation, reasoning: reasoning)
        usage.cacheCreation1h = cacheCreation1h
        usage.audioPrompt = audioPrompt
        usage.audioCompletion = audioCompletion
        return BillRequest(usage: usage, batch: batch, priority: priority, region: region)
    }

    /// The message of the `PluginError` `body` throws, nil when it does not throw.
    static func failure(_ body: () throws -> Void) -> PluginError? {
        do { try body() } catch let error as PluginError { return error } catch { return PluginError(.internal, "\(error)") }
        return nil
    }

    /// The SPEC's tier example: 0-32K $1.2, 32K-128K $2.4, 128K-252K $3.0 per 1M tokens.
    static func specTiers(mode: String) -> String {
        """
        {"tiered_mode": "\(mode)", "tiered_pricing": [
          {"range": [0, 32000], "input_cost_per_token": 1.2e-06, "output_cost_per_token": 6e-06},
          {"range": [32000, 128000], "input_cost_per_token": 2.4e-06, "output_cost_per_token": 1.2e-05},
          {"range": [128000.0, 252000.0], "input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05}]}
        """
    }

    static let sonnet = #"{"input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05, "cache_read_input_token_cost": 3e-07}"#
}
