import NIOHTTP1

extension RequestHandler {
    /// Checks what a request needs from its head alone, before any body byte is read (and before
    /// a `100 Continue`): that this listener serves its route, and its key. Nil to read on, else
    /// the refusal to answer at once.
    func admissionRefusal(_ head: RequestHead, entry: RouteTable.Entry) -> GatewayError? {
        guard entry.served(on: listener) else {
            let other = listener == .client ? "the admin listener (admin.listen)" : "the client listener (listen)"
            return .notFound("\(entry.label == "other" ? "this path" : entry.label) is served on \(other)", code: "unknown_route")
        }
        switch entry.access {
        case .open:
            return nil
        case .metrics:
            guard runtime.admin?.metricsAuth == .adminKey else { return nil }
            return adminKeyRefusal(head)
        case .clientKey:
            do {
                clientKey = try ClientAPI(handler: self).authenticate(head, keys: runtime.snapshot.keys)
            } catch {
                return error as? GatewayError ?? .unauthorized("invalid API key")
            }
            authenticated = true
            return nil
        case .adminKey:
            return adminKeyRefusal(head)
        }
    }

    /// The admin key is taken from `Authorization: Bearer` only (never a URL, where logs and
    /// browser histories keep it); an address that failed too often waits (`AdminThrottle`).
    private func adminKeyRefusal(_ head: RequestHead) -> GatewayError? {
        guard let admin = runtime.admin else {
            return .notFound("the admin API is off: set admin_key in the configuration", code: "admin_disabled")
        }
        let peer = peerAddress, now = unixSeconds()
        if let wait = admin.throttle.retryAfter(peer, now: now) {
            return .rateLimited("too many failed admin keys from this address; try again later", code: "admin_throttled",
                                retryAfter: .seconds(wait))
        }
        let refusal = GatewayError.unauthorized("the admin API needs the admin key as 'Authorization: Bearer <admin_key>'")
        guard let auth = head.fields.first("authorization"), auth.utf8.count > 7, auth.hasPrefixIgnoringASCIICase("bearer ") else {
            return refusal  // no key: not a guess, so not counted
        }
        guard KeyDigest(of: Array(auth.utf8.dropFirst(7))) == admin.keyDigest else {
            admin.throttle.failed(peer, now: now)
            return refusal
        }
        authenticated = true
        return nil
    }
}
