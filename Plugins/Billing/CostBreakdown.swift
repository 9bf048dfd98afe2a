import TollgatePluginKit

/// A priced request: the rule applied, its lines and the total.
public struct CostBreakdown: Sendable, Equatable {
    /// The rule that priced the non-cached part: "tiered", "priority", "batch" or "standard".
    public var rule: String
    /// "cn", "international" or "universal": whose prices were used.
    public var region: String
    public var currency: String
    public var lines: [BillLine]
    /// `tiered_pricing`: the tier the prompt falls in, its range and the mode.
    public var tier: (index: Int, start: Int64, end: Int64, mode: TieredMode)?
    /// `_above_N_tokens`: the threshold crossed.
    public var threshold: Int64?
    /// The service mode the flags asked for (it may have lost to "tiered").
    public var service: ServiceMode

    /// The sum of every line's exact product, divided by 1e6 once, rounded half up.
    public var nanoUnits: Int64 {
        get throws(PluginError) {
            let total = roundHalfUp(lines.reduce(Int128(0)) { $0 + $1.exactMicroNano })
            guard total <= Int128(Int64.max) else { throw PluginError(.internal, "the cost overflows 64-bit nano-units") }
            return Int64(total)
        }
    }

    public static func == (a: CostBreakdown, b: CostBreakdown) -> Bool {
        a.rule == b.rule && a.region == b.region && a.currency == b.currency && a.lines == b.lines
            && a.tier?.index == b.tier?.index && a.threshold == b.threshold && a.service == b.service
    }

    /// The breakdown JSON handed back to the core.
    public func breakdown(total: Int64) -> JSONValue {
        var members: [JSONValue.Member] = [
            .init("rule", .string(rule)),
            .init("service", .string(service.rawValue)),
            .init("region", .string(region)),
            .init("currency", .string(currency)),
            .init("nano_units", .int(total)),
            .init("rounding", .string("half-up, once on the exact sum; line nano values are rounded alone")),
        ]
        if let tier {
            members.append(.init("tiered_mode", .string(tier.mode.rawValue)))
            members.append(.init("tier", .int(tier.index)))
            members.append(.init("range", .array([.int(tier.start), .int(tier.end)])))
        }
        if let threshold { members.append(.init("threshold", .int(threshold))) }
        members.append(.init("lines", .array(lines.map { line in
            var fields: [JSONValue.Member] = [
                .init("kind", .string(line.kind.rawValue)),
                .init("tokens", .int(line.tokens)),
                .init("price_per_1m_nano", .int(line.pricePerMillionNano)),
                .init("nano", .int(line.nanoUnits)),
            ]
            if let tier = line.tier { fields.append(.init("tier", .int(tier))) }
            return .object(fields)
        })))
        return .object(members)
    }
}
