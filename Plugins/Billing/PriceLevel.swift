import TollgatePluginKit

/// The price fields of one level of an entry (the top level, or one region), validated and
/// converted to nano-units per 1M tokens. Unknown and non-token fields are ignored.
struct PriceLevel: Sendable {
    var fields: [PriceKey: Int64] = [:]
    /// Nil when the level has no `tiered_pricing` with token ranges.
    var tiers: [PriceTier]?

    /// `path` prefixes field names in error messages ("regions.cn.").
    init(_ members: [JSONValue.Member], path: String) throws(PluginError) {
        for member in members {
            if member.key == "tiered_pricing" {
                tiers = try Self.tiers(member.value, path: path + member.key)
            } else if let key = PriceKey(field: member.key) {
                guard let price = try Self.price(member.value, path: path + member.key) else { continue }
                fields[key] = price
            }
        }
    }

    /// 1000 units per token, in nano per 1M: far above any real price, and low enough that
    /// percentages and token products stay inside Int64 / Int128.
    static let maximumPrice: Int64 = 1_000_000_000_000_000_000

    /// A price field's value; nil for JSON null (LiteLLM's "not set").
    static func price(_ value: JSONValue, path: String) throws(PluginError) -> Int64? {
        switch value {
        case .null:
            return nil
        case .number(let literal):
            switch ExactDecimal.nanoPerMillionTokens(literal) {
            case .success(let nano):
                guard nano <= maximumPrice else { throw PluginError(.config, "\(path): price \(literal) is above 1000 per token") }
                return nano
            case .failure(.negative): throw PluginError(.config, "\(path): negative price \(literal)")
            case .failure(.tooLarge): throw PluginError(.config, "\(path): price \(literal) is too large")
            case .failure(.notANumber): throw PluginError(.config, "\(path): \(literal) is not a number")
            }
        default:
            throw PluginError(.config, "\(path): expected a number, got \(describe(value))")
        }
    }

    private static func tiers(_ value: JSONValue, path: String) throws(PluginError) -> [PriceTier]? {
        guard case .array(let items) = value else { throw PluginError(.config, "\(path): expected a list of tiers, got \(describe(value))") }
        var tiers: [PriceTier] = []
        for (index, item) in items.enumerated() {
            let here = "\(path)[\(index)]"
            guard case .object(let members) = item else { throw PluginError(.config, "\(here): expected an object, got \(describe(item))") }
            var prices: [PriceKind: Int64] = [:]
            for member in members {
                guard let key = PriceKey(field: member.key) else { continue }
                guard key.threshold == nil, key.mode == .standard else {
                    throw PluginError(.config, "\(here).\(member.key): a tier takes plain prices only")
                }
                if let price = try price(member.value, path: "\(here).\(member.key)") { prices[key.kind] = price }
            }
            guard let range = item["range"] else {
                // Tiers by something other than tokens (e.g. search results per query) are not ours.
                if prices.isEmpty { continue }
                throw PluginError(.config, "\(here).range: missing")
            }
            let (start, end) = try bounds(range, path: "\(here).range")
            guard end > start else {
                let relation = end == start ? "is not after" : "is before"
                throw PluginError(.config, "\(here).range: end \(end) \(relation) start \(start)")
            }
            if let previous = tiers.last {
                let previousPath = "\(path)[\(index - 1)]"
                if start < previous.start {
                    throw PluginError(.config, "\(here).range: tiers must be sorted by start (\(start) comes after \(previous.start))")
                }
                if start < previous.end {
                    throw PluginError(.config, "\(here).range: start \(start) overlaps \(previousPath) (\(previous.start)-\(previous.end))")
                }
                if start > previous.end {
                    throw PluginError(.config, "\(here).range: gap after \(previousPath), which ends at \(previous.end)")
                }
            } else if start != 0 {
                throw PluginError(.config, "\(here).range: the first tier must start at 0, not \(start)")
            }
            guard prices[.input] != nil else { throw PluginError(.config, "\(here).input_cost_per_token: missing") }
            tiers.append(PriceTier(start: start, end: end, prices: prices))
        }
        return tiers.isEmpty ? nil : tiers
    }

    /// `[start, end]` as whole token counts (LiteLLM writes them as 256000.0).
    private static func bounds(_ range: JSONValue, path: String) throws(PluginError) -> (Int64, Int64) {
        guard case .array(let pair) = range, pair.count == 2 else {
            throw PluginError(.config, "\(path): expected [start, end], got \(describe(range))")
        }
        var values: [Int64] = []
        for bound in pair {
            guard case .number(let literal) = bound, case .success(let scaled) = ExactDecimal.scaled(literal, shift: 0), scaled.exact else {
                throw PluginError(.config, "\(path): \(describe(bound)) is not a whole, non-negative token count")
            }
            values.append(scaled.value)
        }
        return (values[0], values[1])
    }
}

/// A short description of a JSON value for error messages.
func describe(_ value: JSONValue) -> String {
    switch value {
    case .null: "null"
    case .bool(let b): "\(b)"
    case .number(let n): n
    case .string(let s): "the string \"\(s.prefix(40))\""
    case .array: "a list"
    case .object: "an object"
    }
}
