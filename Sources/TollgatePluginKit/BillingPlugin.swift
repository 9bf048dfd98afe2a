/// A billing plugin: compiles price entries once and prices requests with them.
///
/// The core hands each model's price entry (JSON) to `makePrice` when it loads or syncs prices,
/// keeps the compiled price, and calls `cost` for every finished request, so `cost` must parse
/// nothing and stay cheap. Compiled prices are shared across threads.
public protocol BillingPlugin {
    static var name: String { get }
    static var version: String { get }
    /// Compiles one price entry; invalid data throws `.config` with a message naming the field.
    static func makePrice(entry: JSONValue) throws(PluginError) -> any BillingPrice
}

/// One compiled price entry; read-only, used from many threads at once.
public protocol BillingPrice: AnyObject, Sendable {
    /// Prices one request. A price the usage needs but the entry lacks throws `.config`
    /// ("no price for ..."), never a silent zero.
    func cost(_ request: BillRequest) throws(PluginError) -> BillResult
}

/// What the core asks a billing plugin to price.
public struct BillRequest: Sendable, Equatable {
    public var usage: TokenUsage
    public var batch: Bool
    public var priority: Bool
    /// "cn", "international", or "" for the universal price.
    public var region: String

    /// False when the host will not read the breakdown (`TOLLGATE_BILL_NO_BREAKDOWN`).
    public var wantsBreakdown: Bool

    public init(usage: TokenUsage, batch: Bool = false, priority: Bool = false, region: String = "", wantsBreakdown: Bool = true) {
        self.usage = usage
        self.batch = batch
        self.priority = priority
        self.region = region
        self.wantsBreakdown = wantsBreakdown
    }
}

/// A cost: integer nano-units (1e9 per unit) of an ISO 4217 currency, with the JSON that explains it.
public struct BillResult: Sendable, Equatable {
    public var nanoUnits: Int64
    public var currency: String
    /// A JSON object naming the rule applied and each priced line (may be empty).
    public var breakdown: [UInt8]

    public init(nanoUnits: Int64, currency: String, breakdown: [UInt8] = []) {
        self.nanoUnits = nanoUnits
        self.currency = currency
        self.breakdown = breakdown
    }
}
