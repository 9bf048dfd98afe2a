import TollgatePluginKit

/// An OAuth access token and when it stops being usable.
public struct AccessToken: Sendable, Equatable {
    public var value: String
    public var tokenType: String
    /// Unix nanoseconds, measured from when the exchange was sent (so a slow answer errs early).
    public var expiresAtNanos: Int64

    public init(value: String, tokenType: String = "Bearer", expiresAtNanos: Int64) {
        self.value = value
        self.tokenType = tokenType
        self.expiresAtNanos = expiresAtNanos
    }

    /// The `Authorization` header value.
    public var authorization: String { "Bearer \(value)" }
}

/// The wire format of the JWT-bearer exchange (RFC 7523 §2.1): the form request and the reading
/// of Google's answer. Kept apart from the cache so both halves are testable without threads.
public enum TokenExchange {
    public static let grantType = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    static let contentType = "application/x-www-form-urlencoded"

    public static func requestHeaders() -> [(String, String)] {
        [("Content-Type", contentType), ("Accept", "application/json")]
    }

    /// `grant_type=…&assertion=…`, form-encoded.
    public static func requestBody(assertion: String) -> [UInt8] {
        Array("grant_type=\(formEncoded(grantType))&assertion=\(formEncoded(assertion))".utf8)
    }

    /// Reads `{"access_token","expires_in","token_type"}`; anything else is an `.auth` failure
    /// that carries Google's `error` / `error_description` when present.
    /// - Parameter sentAtNanos: when the request went out; the expiry counts from there.
    public static func parseAnswer(status: Int, body: [UInt8], tokenURI: String, sentAtNanos: Int64) throws(PluginError) -> AccessToken {
        let json = try? JSONParser.parse(body)
        guard status == 200 else {
            throw PluginError(.auth, "token exchange at \(tokenURI) failed with HTTP \(status): \(describeFailure(json: json, body: body))")
        }
        guard let json, json.objectValue != nil else {
            throw PluginError(.auth, "token exchange at \(tokenURI) answered 200 with a body that is not a JSON object: \(snippet(body))")
        }
        guard let value = json["access_token"]?.stringValue, !value.isEmpty else {
            throw PluginError(.auth, "token exchange at \(tokenURI) answered without an \"access_token\" string")
        }
        guard let lifetime = seconds(json["expires_in"]), lifetime > 0 else {
            throw PluginError(.auth, "token exchange at \(tokenURI) answered without a positive \"expires_in\"")
        }
        var tokenType = "Bearer"
        if let field = json["token_type"], !field.isNull {
            guard let text = field.stringValue, text.lowercased() == "bearer" else {
                throw PluginError(.auth, "token exchange at \(tokenURI) answered token_type \(field.jsonString); expected \"Bearer\"")
            }
            tokenType = text
        }
        let (nanos, overflow) = lifetime.multipliedReportingOverflow(by: 1_000_000_000)
        let (expiry, overflow2) = sentAtNanos.addingReportingOverflow(nanos)
        return AccessToken(value: value, tokenType: tokenType, expiresAtNanos: overflow || overflow2 ? Int64.max : expiry)
    }

    /// `expires_in` as whole seconds; some servers send it as a string or with a fraction.
    private static func seconds(_ value: JSONValue?) -> Int64? {
        switch value {
        case .number(let text)?: return Int64(text) ?? Double(text).flatMap { $0.isFinite && $0 < 9e18 ? Int64($0) : nil }
        case .string(let text)?: return Int64(text)
        default: return nil
        }
    }

    /// Google's `{"error","error_description"}` when present, else the start of the body.
    private static func describeFailure(json: JSONValue?, body: [UInt8]) -> String {
        if let json {
            // OAuth endpoints answer {"error": "...", "error_description": "..."}; other Google
            // front ends answer {"error": {"code", "message", "status"}}.
            if let code = json["error"]?.stringValue {
                if let detail = json["error_description"]?.stringValue, !detail.isEmpty { return "\(code): \(detail)" }
                return code
            }
            if let message = json["error"]?["message"]?.stringValue {
                if let status = json["error"]?["status"]?.stringValue { return "\(status): \(message)" }
                return message
            }
        }
        return body.isEmpty ? "empty body" : snippet(body)
    }

    /// At most 200 characters of a body, for messages.
    static func snippet(_ body: [UInt8]) -> String {
        let text = String(decoding: body.prefix(200), as: UTF8.self)
        return body.count > 200 ? text + "…" : text
    }

    /// `application/x-www-form-urlencoded` for one value: unreserved bytes stay, all else is `%XX`.
    static func formEncoded(_ value: String) -> String { PercentEncoding.encode(value) }
}
