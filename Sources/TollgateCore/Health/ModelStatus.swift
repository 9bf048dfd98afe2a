/// A (channel, model)'s state as the last answers left it (SPEC "Channel state").
public enum ModelStatus: String, Sendable {
    case available = "Available"
    case rateLimited = "RateLimited"
    case quotaExhausted = "QuotaExhausted"
    case modelNotFound = "ModelNotFound"
    case temporarilyDown = "TemporarilyDown"
}

/// A channel's account balance as its answers tell it.
public enum BalanceStatus: String, Sendable {
    case ok = "Ok", low = "Low", exhausted = "Exhausted", unknown = "Unknown"
}
