import NIOCore

/// The JSON bodies of `/admin/keys` routes, checked field by field: a bad one is refused with a
/// message naming the field, and nothing is changed.
struct KeyPayload {
    let json: JSONValue

    /// Parses `body` as a JSON object whose members are all in `allowed` (an empty body is `{}`
    /// when `emptyIsObject`).
    init(_ body: ByteBuffer, allowed: [String], emptyIsObject: Bool = false) throws {
        if emptyIsObject && body.readableBytes == 0 {
            json = .object([])
            return
        }
        let parsed: JSONValue
        do { parsed = try body.withUnsafeReadableBytes { try JSONParser.parse($0) } } catch {
            throw GatewayError.badRequest("the body must be a JSON object: \(error)", code: "invalid_json")
        }
        guard let members = parsed.objectValue else { throw GatewayError.badRequest("the body must be a JSON object", code: "invalid_json") }
        for member in members where !allowed.contains(member.key) {
            let hint = member.key == "name" ? " (a key cannot be renamed: create a new one)" : ""
            throw GatewayError.badRequest("unknown field '\(member.key)'\(hint); expected one of: \(allowed.joined(separator: ", "))",
                                          code: "unknown_field")
        }
        json = parsed
    }

    func models() throws -> [String]? {
        guard let value = json["models"] else { return nil }
        if value.isNull { return [] }
        guard let items = value.arrayValue, case let names = items.compactMap(\.stringValue), names.count == items.count,
              names.allSatisfy({ !$0.isEmpty && $0.count <= 200 }) else {
            throw GatewayError.badRequest("'models' must be an array of model names or patterns (empty or null: all models)",
                                          code: "invalid_models")
        }
        return names
    }

    /// Unix seconds from a number or a text such as `30d` or `2026-12-31`; nil when absent or null.
    func expiry(now: Int64) throws -> Int64? {
        guard let value = json["expires_at"] ?? json["expires"], !value.isNull else { return nil }
        guard let at = value.int64Value ?? value.stringValue.flatMap({ KeyIssuer.parseExpiry($0, now: now) }) else {
            throw GatewayError.badRequest("'expires' must be like 30d, 12h, 2026-12-31 or Unix seconds", code: "invalid_expires")
        }
        return at
    }

    var namesExpiry: Bool { json["expires_at"] != nil || json["expires"] != nil }

    /// A positive whole number up to `max`; nil when absent or null.
    func limit(_ name: String, max: Int = Int(Int32.max)) throws -> Int? {
        guard let value = json[name], !value.isNull else { return nil }
        guard let n = value.int64Value, n > 0, n <= Int64(max) else {
            throw GatewayError.badRequest("'\(name)' must be a whole number from 1 to \(max), or null for no limit", code: "invalid_\(name)")
        }
        return Int(n)
    }

    /// `{"amount": 50, "currency": "USD", "period": "monthly"}`; the currency needs an exchange
    /// rate (so spend in any currency can be counted against it). Nil when absent or null.
    func budget(rates: ExchangeRates) throws -> Budget? {
        guard let value = json["budget"], !value.isNull else { return nil }
        let problem = GatewayError.badRequest(
            "'budget' must be {\"amount\": 50, \"currency\": \"USD\", \"period\": \"monthly\"} (period: "
                + Budget.Period.allCases.map(\.rawValue).joined(separator: ", ") + "), or null for no budget", code: "invalid_budget")
        guard let members = value.objectValue, members.allSatisfy({ ["amount", "currency", "period"].contains($0.key) }) else { throw problem }
        let amountText: String? = switch value["amount"] {
        case .number(let text)?: text
        case .string(let text)?: text
        default: nil
        }
        guard let amountText, let nano = Money.parseNano(amountText), nano > 0 else { throw problem }
        let currency = value["currency"].map { $0.stringValue ?? "" } ?? "USD"
        guard currency.count == 3, currency.allSatisfy({ $0.isASCII && $0.isUppercase }) else { throw problem }
        guard rates.rates[currency] != nil else {
            throw GatewayError.badRequest("budget currency \(currency) has no exchange rate: set one under /admin/exchange-rates first",
                                          code: "invalid_budget")
        }
        guard let period = value["period"].map({ $0.stringValue.flatMap(Budget.Period.init(rawValue:)) }) ?? .monthly else { throw problem }
        return Budget(amountNano: nano, currency: currency, period: period)
    }

    /// The rotation's grace in seconds: a number or a text such as `24h`; the default when absent.
    func grace() throws -> Int64 {
        guard let value = json["grace"], !value.isNull else { return KeyIssuer.defaultGraceSeconds }
        guard let seconds = value.int64Value ?? value.stringValue.flatMap(KeyIssuer.parseGrace),
              (0...KeyIssuer.maxGraceSeconds).contains(seconds) else {
            throw GatewayError.badRequest("'grace' must be like 24h, 30m, 90s or seconds, from 0 to 90 days", code: "invalid_grace")
        }
        return seconds
    }

    /// What a PATCH changes: a member given sets its field, null removes it, absent keeps it.
    func change(rates: ExchangeRates, now: Int64) throws -> KeyChange {
        var change = KeyChange()
        change.models = try models()
        if namesExpiry { change.expiresAt = .some(try expiry(now: now)) }
        if json["rpm"] != nil { change.rpm = .some(try limit("rpm")) }
        if json["tpm"] != nil { change.tpm = .some(try limit("tpm")) }
        if json["concurrency"] != nil { change.concurrency = .some(try limit("concurrency", max: 1_000_000)) }
        if json["budget"] != nil { change.budget = .some(try budget(rates: rates)) }
        guard !change.isEmpty else {
            throw GatewayError.badRequest("nothing to change: send at least one of \(Self.changeable.joined(separator: ", "))",
                                          code: "empty_change")
        }
        return change
    }

    static let changeable = ["models", "expires", "expires_at", "rpm", "tpm", "concurrency", "budget"]
}
