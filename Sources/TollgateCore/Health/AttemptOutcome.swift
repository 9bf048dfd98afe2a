import Foundation

/// How one upstream attempt went, as health and failover see it.
enum AttemptOutcome: Sendable {
    /// A 2xx head arrived after `latency`.
    case success(latency: Duration, limits: RateLimitInfo)
    /// A 4xx caused by the request (400, 413, 422 ...): the upstream works; nothing to learn.
    case requestError(status: Int)
    case rateLimited(RateLimitInfo, UpstreamErrorInfo)
    /// 401 or 403: the channel's credentials are refused.
    case authFailed(UpstreamErrorInfo)
    /// 402, or `insufficient_quota` and the like: the account is out of credit.
    case quotaExhausted(UpstreamErrorInfo)
    case modelNotFound(UpstreamErrorInfo)
    case deprecated(DeprecationNotice, UpstreamErrorInfo)
    case serverError(status: Int, UpstreamErrorInfo)
    case timeout(String)
    /// No connection could be made.
    case unreachable(String)
    /// A started stream broke off.
    case streamBroken(String)

    /// Classifies a complete non-2xx answer in OpenAI's shape (the gateway's internal dialect, also
    /// Azure's) to a request for `model` (the upstream's name) sent with `apiVersion`; a plugin's
    /// channel reads its provider's shape first (`RuntimeChannel.classify`). A deprecation counts only when the detector finds the provider's own
    /// structured signal naming them. Any other 4xx than 401/402/403/404/408/429 (400, 413, 422,
    /// `invalid_request_error` bodies) was caused by the request: the client's, never the channel's.
    static func classify(status: Int, headers: [(String, String)], body: [UInt8], model: String = "",
                         apiVersion: String? = nil, now: Date = Date()) -> AttemptOutcome {
        let error = UpstreamErrorInfo.parse(status: status, body: body)
        if error.isQuotaExhausted || status == 402 { return .quotaExhausted(error) }
        if status == 429 {
            return .rateLimited(RateLimitInfo.parse(headers, now: now), error)
        }
        if status == 401 || status == 403 { return .authFailed(error) }
        if status >= 500 { return .serverError(status: status, error) }
        if let notice = DeprecationNotice.detect(error, status: status, model: model, apiVersion: apiVersion) {
            return .deprecated(notice, error)
        }
        if status == 404 { return .modelNotFound(error) }
        if status == 408 { return .timeout("HTTP 408: \(error.message)") }
        return .requestError(status: status)
    }

    /// Worth trying on another channel (only ever before anything reached the client).
    var isRetryable: Bool {
        switch self {
        case .success, .requestError: false
        default: true
        }
    }

    /// For the health view and notifications.
    var summary: String {
        switch self {
        case .success: "ok"
        case .requestError(let status): "HTTP \(status) (request error)"
        case .rateLimited(_, let e): "HTTP 429: \(e.message)"
        case .authFailed(let e): "authentication failed: \(e.message)"
        case .quotaExhausted(let e): "quota exhausted: \(e.message)"
        case .modelNotFound(let e): "model not found: \(e.message)"
        case .deprecated(_, let e): "deprecated: \(e.message)"
        case .serverError(let status, let e): "HTTP \(status): \(e.message)"
        case .timeout(let m), .unreachable(let m), .streamBroken(let m): m
        }
    }
}
