/// How `tiered_pricing` bills a prompt that spans several tiers.
public enum TieredMode: String, Sendable {
    /// Every token at the price of the tier the prompt size falls in (LiteLLM, Alibaba's list).
    case wholeRequest = "whole-request"
    /// Each slice of the prompt at its own tier's price, like tax brackets.
    case segmented
}
