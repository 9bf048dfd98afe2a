import TollgatePluginKit

/// One model's price entry, compiled: LiteLLM's per-token fields plus Tollgate's `currency`,
/// `tiered_mode` and `regions`. Read-only after creation, so it is shared across threads.
public final class PriceEntry: BillingPrice {
    public static let regions = ["cn", "international"]

    public let currency: String
    public let tieredMode: TieredMode
    let universal: PricePlan
    /// Per region, when the entry has `regions` (a region's missing fields come from the top level).
    let regional: [String: PricePlan]

    /// Validates and compiles an entry; bad data throws `.config` naming the field.
    public init(entry: JSONValue) throws(PluginError) {
        guard case .object(let members) = entry else {
            throw PluginError(.config, "price entry: expected a JSON object, got \(describe(entry))")
        }
        switch entry["currency"] {
        case nil, .null?:
            currency = "USD"
        case .string(let code)? where code.utf8.count == 3 && code.utf8.allSatisfy({ $0 >= 0x41 && $0 <= 0x5A }):
            currency = code
        case let other?:
            throw PluginError(.config, "currency: \(describe(other)) is not an ISO 4217 code (three capital letters, e.g. \"USD\")")
        }
        switch entry["tiered_mode"] {
        case nil, .null?:
            tieredMode = .wholeRequest
        case .string(let name)?:
            guard let mode = TieredMode(rawValue: name) else {
                throw PluginError(.config, "tiered_mode: unknown mode \"\(name)\" (segmented or whole-request)")
            }
            tieredMode = mode
        case let other?:
            throw PluginError(.config, "tiered_mode: expected \"segmented\" or \"whole-request\", got \(describe(other))")
        }
        let top = try PriceLevel(members, path: "")
        universal = PricePlan(fields: top.fields, tiers: top.tiers)
        var regional: [String: PricePlan] = [:]
        switch entry["regions"] {
        case nil, .null?:
            break
        case .object(let regions)?:
            for region in regions {
                guard Self.regions.contains(region.key) else {
                    throw PluginError(.config, "regions.\(region.key): unknown region (cn or international)")
                }
                guard case .object(let fields) = region.value else {
                    throw PluginError(.config, "regions.\(region.key): expected an object of prices, got \(describe(region.value))")
                }
                let level = try PriceLevel(fields, path: "regions.\(region.key).")
                regional[region.key] = PricePlan(fields: top.fields.merging(level.fields) { _, regional in regional },
                                                 tiers: level.tiers ?? top.tiers)
            }
        case let other?:
            throw PluginError(.config, "regions: expected an object, got \(describe(other))")
        }
        self.regional = regional
    }

    public convenience init(json: String) throws(PluginError) {
        let entry: JSONValue
        do { entry = try JSONParser.parse(json) } catch { throw PluginError(.config, "price entry is not JSON: \(error)") }
        try self.init(entry: entry)
    }

    public func cost(_ request: BillRequest) throws(PluginError) -> BillResult {
        let bill = try self.bill(request)
        let total = try bill.nanoUnits
        return BillResult(nanoUnits: total, currency: currency,
                          breakdown: request.wantsBreakdown ? bill.breakdown(total: total).serialized() : [])
    }

    /// Prices a request: cached parts at cache prices, the rest by the first rule that applies
    /// among tiered, priority, batch and standard.
    public func bill(_ request: BillRequest) throws(PluginError) -> CostBreakdown {
        let (plan, region) = try self.plan(request.region)
        let usage = try BilledUsage(request.usage)
        let service: ServiceMode = request.priority ? .priority : request.batch ? .batch : .standard
        var bill = CostBreakdown(rule: service.rawValue, region: region, currency: currency, lines: [], service: service)
        if let tiers = plan.tiers, let index = plan.tierIndex(prompt: usage.prompt) {
            bill.rule = "tiered"
            bill.tier = (index, tiers[index].start, tiers[index].end, tieredMode)
            switch tieredMode {
            case .wholeRequest:
                bill.lines = try Self.lines(BilledUsage.allParts, of: usage, at: tiers[index].rates)
            case .segmented:
                bill.lines = try Self.segmented(BilledUsage.promptParts, of: usage, tiers: tiers)
                    + Self.lines(BilledUsage.completionParts, of: usage, at: tiers[index].rates)
            }
        } else if let threshold = plan.threshold(service, prompt: usage.prompt) {
            bill.rule = "tiered"
            bill.threshold = threshold.tokens
            bill.lines = try Self.lines(BilledUsage.allParts, of: usage, at: threshold.rates)
        } else {
            bill.lines = try Self.lines(BilledUsage.allParts, of: usage, at: plan.rates(service))
        }
        return bill
    }

    private func plan(_ region: String) throws(PluginError) -> (PricePlan, String) {
        if region.isEmpty { return (universal, "universal") }
        guard Self.regions.contains(region) else {
            throw PluginError(.invalidInput, "unknown region \"\(region)\" (cn, international, or empty for universal)")
        }
        guard let plan = regional[region] else { return (universal, "universal") }
        return (plan, region)
    }

    private static func lines(_ parts: [BillLine.Kind], of usage: BilledUsage, at rates: TokenRates) throws(PluginError) -> [BillLine] {
        var lines: [BillLine] = []
        lines.reserveCapacity(parts.count)  // one allocation per bill, not one per line
        for kind in parts {
            let tokens = usage.tokens(kind)
            guard tokens > 0 else { continue }
            lines.append(BillLine(kind: kind, tokens: tokens, pricePerMillionNano: try price(kind, tokens, rates), tier: nil))
        }
        return lines
    }

    /// Tax brackets: the prompt's parts fill the context in order, each slice priced at the tier
    /// it falls in; tokens past the last tier stay in the last tier.
    private static func segmented(_ parts: [BillLine.Kind], of usage: BilledUsage, tiers: [PricePlan.Tier]) throws(PluginError) -> [BillLine] {
        var lines: [BillLine] = []
        var position: Int64 = 0
        var index = 0
        for kind in parts {
            var left = usage.tokens(kind)
            while left > 0 {
                while index < tiers.count - 1 && position >= tiers[index].end { index += 1 }
                let room = index == tiers.count - 1 ? left : min(left, tiers[index].end - position)
                let price = try price(kind, room, tiers[index].rates)
                lines.append(BillLine(kind: kind, tokens: room, pricePerMillionNano: price, tier: index))
                position += room
                left -= room
            }
        }
        return lines
    }

    private static func price(_ kind: BillLine.Kind, _ tokens: Int64, _ rates: TokenRates) throws(PluginError) -> Int64 {
        guard let price = rates[kind.priceKind] else {
            let field = kind.priceKind.rawValue
            let from = kind.priceKind == .input || kind.priceKind == .output ? field
                : "\(field), or \(kind.priceKind.isOutput ? "output_cost_per_token" : "input_cost_per_token") it defaults from"
            throw PluginError(.config, "no price for \(kind.rawValue) tokens (\(tokens)): the entry has no \(from)")
        }
        return price
    }
}

extension PriceKind {
    var isOutput: Bool { self == .output || self == .reasoning || self == .audioOutput }
}
