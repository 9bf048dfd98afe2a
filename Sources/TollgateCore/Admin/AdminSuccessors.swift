import NIOCore

/// `POST /admin/channels/{name}/accept-successor`: applies a successor the deprecation detector
/// proposed. Body (optional): `{"model": "<upstream model>"}` or `{"api_version": true}` to pick
/// one proposal; without it, the channel's only proposal.
enum AdminSuccessors {
    static let suffix = "/accept-successor"

    static func matches(_ path: Substring) -> Bool { path.hasPrefix("/admin/channels/") && path.hasSuffix(suffix) }

    static func accept(_ handler: RequestHandler, admin: AdminContext, path: Substring, body: ByteBuffer) throws {
        let raw = path.dropFirst("/admin/channels/".count).dropLast(suffix.count)
        let name = String(raw).removingPercentEncoding ?? String(raw)
        guard let gateway = admin.link.gateway else { throw GatewayError.unavailable("the gateway is starting") }
        guard gateway.runtime.snapshot.router.channels.contains(where: { $0.name == name }) else {
            throw GatewayError.notFound("no channel '\(name)'", code: "channel_not_found")
        }
        let wanted = try selection(body)
        let health = gateway.runtime.health.health(for: name)
        guard let proposal = health.takeProposal(model: wanted) else {
            let open = health.proposals
            if wanted == nil && open.count > 1 {
                throw GatewayError(status: 409, type: "invalid_request_error", code: "several_proposals",
                                   message: "channel '\(name)' has \(open.count) proposals; name one with {\"model\": ...} or {\"api_version\": true}")
            }
            throw GatewayError.notFound("channel '\(name)' has no proposed successor\(wanted.map { $0.isEmpty ? " for its API version" : " for '\($0)'" } ?? "")",
                                        code: "no_proposal")
        }
        gateway.applySuccessor(proposal)
        let answer = JSONValue.object(["channel": .string(name), "kind": .string(proposal.kind.rawValue),
                                       "model": proposal.model.isEmpty ? .null : .string(proposal.model),
                                       "successor": .string(proposal.value), "reason": .string(proposal.reason)])
        handler.writeJSON(status: 200, body: answer.serialized())
        handler.requestEnded(status: 200)
    }

    /// The proposal the body names: a model, "" for the API version, nil for "the only one".
    private static func selection(_ body: ByteBuffer) throws -> String? {
        guard body.readableBytes > 0 else { return nil }
        let json: JSONValue
        do { json = try body.withUnsafeReadableBytes { try JSONParser.parse($0) } } catch {
            throw GatewayError.badRequest("body is not valid JSON: \(error)", code: "invalid_json")
        }
        guard case .object = json else { throw GatewayError.badRequest("body must be a JSON object", code: "invalid_body") }
        if let model = json["model"] {
            guard let name = model.stringValue, !name.isEmpty else {
                throw GatewayError.badRequest("'model' must be a non-empty string", code: "invalid_model")
            }
            return name
        }
        if let version = json["api_version"] {
            guard version.boolValue == true else { throw GatewayError.badRequest("'api_version' must be true", code: "invalid_api_version") }
            return ""
        }
        return nil
    }
}
