import TollgatePluginABI

/// A plugin's reading of an upstream answer (`on_classify_response`, ABI 1.4), checked: an
/// unknown verdict, a negative count or an oversized text never reaches health as it is.
struct PluginVerdict: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        case ok, requestError, rateLimited, overloaded, auth, quota, modelNotFound, contextWindow, deprecated, serverError
    }

    var kind: Kind
    var limits: RateLimitInfo
    var message: String
    var code: String?
    var successor: String?

    /// Longest text kept from a plugin's message, code or successor.
    static let maxText = 4096

    /// Nil for GENERIC or a verdict this core does not know (the core's own reading applies).
    init?(_ out: tollgate_type_classification, message: [UInt8], code: [UInt8], successor: [UInt8]) {
        switch out.verdict {
        case TOLLGATE_VERDICT_OK: kind = .ok
        case TOLLGATE_VERDICT_REQUEST_ERROR: kind = .requestError
        case TOLLGATE_VERDICT_RATE_LIMITED: kind = .rateLimited
        case TOLLGATE_VERDICT_OVERLOADED: kind = .overloaded
        case TOLLGATE_VERDICT_AUTH: kind = .auth
        case TOLLGATE_VERDICT_QUOTA: kind = .quota
        case TOLLGATE_VERDICT_MODEL_NOT_FOUND: kind = .modelNotFound
        case TOLLGATE_VERDICT_CONTEXT_WINDOW: kind = .contextWindow
        case TOLLGATE_VERDICT_DEPRECATED: kind = .deprecated
        case TOLLGATE_VERDICT_SERVER_ERROR: kind = .serverError
        default: return nil
        }
        func text(_ bytes: [UInt8]) -> String? {
            bytes.isEmpty ? nil : String(decoding: bytes.prefix(Self.maxText), as: UTF8.self)
        }
        self.message = text(message) ?? ""
        self.code = text(code)
        self.successor = text(successor)
        func value(_ bit: UInt32, _ slot: Int64) -> Int64? {
            out.limit_fields & bit != 0 && slot >= 0 ? slot : nil
        }
        func duration(_ bit: UInt32, _ slot: Int64) -> Duration? {
            value(bit, slot).map { .milliseconds(min($0, 86_400_000 * 366)) }
        }
        func count(_ bit: UInt32, _ slot: Int64) -> Int? { value(bit, slot).map { Int(clamping: $0) } }
        limits = RateLimitInfo(retryAfter: duration(TOLLGATE_LIMIT_RETRY_AFTER, out.retry_after_ms),
                               requestLimit: count(TOLLGATE_LIMIT_REQUESTS_LIMIT, out.requests_limit),
                               requestsRemaining: count(TOLLGATE_LIMIT_REQUESTS_REMAINING, out.requests_remaining),
                               requestsReset: duration(TOLLGATE_LIMIT_REQUESTS_RESET, out.requests_reset_ms),
                               tokenLimit: count(TOLLGATE_LIMIT_TOKENS_LIMIT, out.tokens_limit),
                               tokensRemaining: count(TOLLGATE_LIMIT_TOKENS_REMAINING, out.tokens_remaining),
                               tokensReset: duration(TOLLGATE_LIMIT_TOKENS_RESET, out.tokens_reset_ms))
    }
}

extension PluginChannel {
    /// The plugin's reading of an answer; nil without the hook (ABI 1.0-1.3), when it declines,
    /// or when its verdict is unknown.
    func classify(status: Int, headers: [(String, String)], body: [UInt8], model: String) -> PluginVerdict? {
        guard let hook = adaptor.hooks.on_classify_response else { return nil }
        var out = tollgate_type_classification()
        out.struct_size = MemoryLayout<tollgate_type_classification>.size
        let headerBytes = HeaderLines.format(headers)
        let declined = withBytesView(headerBytes) { headersView in
            withBytesView(body) { bodyView in
                withBytesView(model) { modelView in
                    var answer = tollgate_type_classify_in(struct_size: MemoryLayout<tollgate_type_classify_in>.size,
                                                           status: Int32(status), headers: headersView, body: bodyView, model: modelView)
                    return hook(handle, &answer, &out)
                }
            }
        } != 0
        let message = plugin.take(&out.message)
        let code = plugin.take(&out.code)
        let successor = plugin.take(&out.successor)
        guard !declined else { return nil }
        return PluginVerdict(out, message: message, code: code, successor: successor)
    }
}
