import Synchronization

/// Prices finished requests: finds the model's price entry for the channel's provider and region
/// and asks the billing plugin for the cost. A request that cannot be priced is never billed as
/// zero: its bill carries the problem, and `price_missing` is sent (once per model).
public final class Biller: Sendable {
    let engine: BillingEngine?
    let prices: PriceService?
    let notifier: Notifier?
    private let reported = Mutex<Set<String>>([])

    public init(engine: BillingEngine?, prices: PriceService?, notifier: Notifier?) {
        self.engine = engine
        self.prices = prices
        self.notifier = notifier
    }

    /// The bill for `usage` of `model` (the upstream's name) on `channel`.
    public func bill(usage: TokenUsage, model: String, channel: RuntimeChannel, marks: BillingMarks) -> Bill {
        guard !usage.isEmpty else { return .unpriced }
        guard let engine, let book = prices?.book else {
            return Bill(problem: "no billing plugin is loaded (libtollgate-billing.so)")
        }
        guard let priced = channel.price(for: model, in: book) else {
            let priceName = channel.config.options["price_model"]
            reportMissing(model: model, channel: channel, reason: "no price entry for '\(priceName ?? model)'")
            return Bill(problem: "no price for model '\(priceName ?? model)'")
        }
        do {
            let (cost, _) = try engine.cost(priced.price, usage: usage, marks: marks, region: channel.config.region,
                                            explained: false)
            return Bill(cost: cost, priceName: priced.name, priceSource: priced.source)
        } catch {
            reportMissing(model: model, channel: channel, reason: "\(priced.name): \(error.message)")
            return Bill(priceName: priced.name, priceSource: priced.source, problem: error.message)
        }
    }

    private func reportMissing(model: String, channel: RuntimeChannel, reason: String) {
        let first = reported.withLock { $0.insert(model).inserted }
        guard first else { return }
        let metadata = ["model": model, "channel": channel.name, "provider": channel.config.provider]
        notifier?.notify(NotificationEvent(type: "new_model", priority: .low, title: "Model seen in traffic",
                                           message: "first request for '\(model)' on channel '\(channel.name)'", metadata: metadata))
        notifier?.notify(NotificationEvent(type: "price_missing", priority: .high, title: "Request could not be priced",
                                           message: "\(reason); requests for '\(model)' are recorded without a cost until a price is added",
                                           metadata: metadata))
    }
}
