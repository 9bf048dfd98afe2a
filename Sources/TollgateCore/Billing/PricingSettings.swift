/// `pricing:` in the configuration.
public struct PricingSettings: Sendable {
    /// LiteLLM's price list; nil turns syncing off (the bundled or last synced list stays in force).
    public var syncURL: String? = PricingSettings.liteLLMURL
    public var interval: Duration = .seconds(3600)
    /// Currency that usage reports convert to.
    public var currency = "USD"
    /// Local price files laid over the synced list, later files over earlier ones; hot-reloaded.
    public var files: [String] = []
    public var exchangeRates = ExchangeRates()

    public static let liteLLMURL = "https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json"

    public init() {}
}
