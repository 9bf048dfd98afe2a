/// The priced outcome of one request.
public struct Bill: Sendable, Equatable {
    /// The cost; nil when the request could not be priced (then `problem` says why).
    public var cost: Money?
    /// The price entry used (e.g. `gpt-4o`) and where it came from (`synced`, a file, ...).
    public var priceName: String?
    public var priceSource: String?
    public var problem: String?

    public init(cost: Money? = nil, priceName: String? = nil, priceSource: String? = nil, problem: String? = nil) {
        self.cost = cost
        self.priceName = priceName
        self.priceSource = priceSource
        self.problem = problem
    }

    /// Nothing to bill (no usage, e.g. a refused request).
    public static let unpriced = Bill()
}
