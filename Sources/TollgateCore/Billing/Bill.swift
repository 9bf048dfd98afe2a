/// The priced outcome of one request. A class with lets: a request's record, metrics, answer
/// fields and ledger row each take it, and a struct of four optional texts was copied (a retain
/// each) every time.
public final class Bill: Sendable, Equatable {
    /// The cost; nil when the request could not be priced (then `problem` says why).
    public let cost: Money?
    /// The price entry used (e.g. `gpt-4o`) and where it came from (`synced`, a file, ...).
    public let priceName: String?
    public let priceSource: String?
    public let problem: String?

    public init(cost: Money? = nil, priceName: String? = nil, priceSource: String? = nil, problem: String? = nil) {
        self.cost = cost
        self.priceName = priceName
        self.priceSource = priceSource
        self.problem = problem
    }

    /// Nothing to bill (no usage, e.g. a refused request).
    public static let unpriced = Bill()

    public static func == (a: Bill, b: Bill) -> Bool {
        a === b || (a.cost == b.cost && a.priceName == b.priceName && a.priceSource == b.priceSource && a.problem == b.problem)
    }
}
