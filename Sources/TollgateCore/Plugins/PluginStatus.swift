import TollgatePluginABI

extension tollgate_status {
    /// A short name for messages: "config", "upstream", ...
    var name: String {
        switch self {
        case TOLLGATE_OK: "ok"
        case TOLLGATE_ERR_INVALID_INPUT: "invalid_input"
        case TOLLGATE_ERR_UNSUPPORTED: "unsupported"
        case TOLLGATE_ERR_UPSTREAM: "upstream"
        case TOLLGATE_ERR_CONFIG: "config"
        case TOLLGATE_ERR_AUTH: "auth"
        case TOLLGATE_ERR_INTERNAL: "internal"
        default: "status \(rawValue)"
        }
    }
}
