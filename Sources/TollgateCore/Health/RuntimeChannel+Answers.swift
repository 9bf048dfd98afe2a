import Foundation

/// How health reads a channel's answers: a plugin that knows its provider's shapes
/// (`on_classify_response`, ABI 1.4) reads them itself; every other channel, and a plugin that
/// declines, gets the OpenAI-shaped reading (`AttemptOutcome.classify`, `RateLimitInfo.parse`).
extension RuntimeChannel {
    /// The plugin's reading, for plugin channels that have one.
    private func pluginVerdict(status: Int, headers: [(String, String)], body: [UInt8], model: String) -> PluginVerdict? {
        guard case .plugin(let channel) = backend else { return nil }
        return channel.classify(status: status, headers: headers, body: body, model: model)
    }

    /// Rate limits a 2xx head reports. Only the fields that may say one become text.
    func successLimits(_ fields: HeadFields, model: String) -> RateLimitInfo {
        var limits = RateLimitInfo.parse(fields.pairs(where: RateLimitInfo.mayRead))
        guard case .plugin(let channel) = backend, channel.adaptor.hooks.on_classify_response != nil,
              channel.adaptor.readsSuccess(fields),
              let verdict = channel.classify(status: 200, headers: Array(fields), body: [], model: model) else { return limits }
        limits.overlay(verdict.limits)
        return limits
    }

    /// Reads a complete non-2xx answer to a request for `model` (the upstream's name), asking the
    /// plugin once: what health learns, and whether it says the prompt does not fit the model
    /// (another channel may take it).
    func classify(status: Int, headers: [(String, String)], body: [UInt8], model: String,
                  now: Date = Date()) -> (outcome: AttemptOutcome, contextWindow: Bool) {
        guard let verdict = pluginVerdict(status: status, headers: headers, body: body, model: model) else {
            let outcome = AttemptOutcome.classify(status: status, headers: headers, body: body, model: model, apiVersion: sentAPIVersion, now: now)
            guard case .requestError = outcome else { return (outcome, false) }
            return (outcome, UpstreamErrorInfo.isContextWindowError(status: status, body: body))
        }
        let outcome = verdict.kind == .ok
            ? AttemptOutcome.classify(status: status, headers: headers, body: body, model: model, apiVersion: sentAPIVersion, now: now)
            : AttemptOutcome(verdict, status: status, headers: headers, model: model, now: now)
        return (outcome, verdict.kind == .contextWindow)
    }
}

extension RateLimitInfo {
    /// What `other` says wins; the rest stays.
    mutating func overlay(_ other: RateLimitInfo) {
        retryAfter = other.retryAfter ?? retryAfter
        requestLimit = other.requestLimit ?? requestLimit
        requestsRemaining = other.requestsRemaining ?? requestsRemaining
        requestsReset = other.requestsReset ?? requestsReset
        tokenLimit = other.tokenLimit ?? tokenLimit
        tokensRemaining = other.tokensRemaining ?? tokensRemaining
        tokensReset = other.tokensReset ?? tokensReset
    }
}

extension AttemptOutcome {
    /// A plugin's verdict as health's outcome. A deprecation counts only when the plugin's message
    /// names the channel's own model (it may have echoed a client's words); else the answer is a
    /// missing model (404) or the request's fault.
    init(_ verdict: PluginVerdict, status: Int, headers: [(String, String)], model: String, now: Date) {
        let scope: UpstreamErrorInfo.Scope = switch verdict.kind {
        case .auth, .quota: .account
        case .modelNotFound, .deprecated: .model
        default: .unknown
        }
        let error = UpstreamErrorInfo(message: verdict.message.isEmpty ? "HTTP \(status)" : verdict.message, type: nil,
                                      code: verdict.code, scope: scope)
        switch verdict.kind {
        case .ok, .requestError, .contextWindow: self = .requestError(status: status)
        case .rateLimited:
            var limits = RateLimitInfo.parse(headers, now: now)
            limits.overlay(verdict.limits)
            self = .rateLimited(limits, error)
        case .overloaded, .serverError: self = .serverError(status: status, error)
        case .auth: self = .authFailed(error)
        case .quota: self = .quotaExhausted(error)
        case .modelNotFound: self = .modelNotFound(error)
        case .deprecated:
            guard RetirementText.names(model, in: verdict.message) else {
                self = status == 404 ? .modelNotFound(error) : .requestError(status: status)
                return
            }
            let successor = verdict.successor.flatMap { $0 == model ? nil : DeprecationNotice.Replacement.model($0) }
            self = .deprecated(DeprecationNotice(message: verdict.message, replacement: successor), error)
        }
    }
}
