import NIOHTTP1

/// An upstream request's head as the gateway writes it (`HTTPHead.writeRequest`). The channel's
/// own headers (auth, content type: the same on every request) are its `lines`, made once and
/// shared with the channel; what differs per request is written behind them: `headers` (a
/// plugin's, made per request), the body's length, `accept`, and `extra` (forwarded client
/// headers, a trace's `traceparent`). An attempt with nothing extra builds its head without
/// allocating.
struct UpstreamHead {
    var method: HTTPMethod = .POST
    var uri: String
    var lines = FieldLines.none
    var headers = HTTPHeaders()
    var contentLength: Int
    var accept: StaticString? = nil
    var extra = HTTPHeaders()

    /// The URI without its query (which may carry a credential: errors name only this).
    var path: Substring { uri.uriPath }
}
