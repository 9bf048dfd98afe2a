import TollgatePluginKit

/// A Google service-account key (the JSON file the Cloud console hands out), reduced to what the
/// token exchange and the Vertex URLs need. The private key stays PEM text here; `JWTSigner`
/// parses it, so a bad key is refused when the channel is created rather than on first use.
public struct ServiceAccount: Sendable, Equatable {
    public static let defaultTokenURI = "https://oauth2.googleapis.com/token"

    public var projectID: String
    public var privateKeyID: String
    /// PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    public var privateKeyPEM: String
    public var clientEmail: String
    /// Where the signed JWT is exchanged for an access token; also the JWT's `aud`.
    public var tokenURI: String

    public init(projectID: String, privateKeyID: String, privateKeyPEM: String, clientEmail: String,
                tokenURI: String = ServiceAccount.defaultTokenURI) {
        self.projectID = projectID
        self.privateKeyID = privateKeyID
        self.privateKeyPEM = privateKeyPEM
        self.clientEmail = clientEmail
        self.tokenURI = tokenURI
    }

    /// Parses the key file's bytes.
    public static func parse(_ bytes: some Sequence<UInt8>, tokenURIOverride: String? = nil) throws(PluginError) -> ServiceAccount {
        let json: JSONValue
        do { json = try JSONParser.parse(bytes) } catch {
            throw PluginError(.config, "service account key is not JSON: \(error)")
        }
        return try ServiceAccount(json: json, tokenURIOverride: tokenURIOverride)
    }

    /// Reads a parsed key. A JSON string holding the key file's text is accepted too, since
    /// configs often carry the file pasted as one string.
    /// - Parameter tokenURIOverride: replaces the key's `token_uri` (a loopback mock in tests).
    public init(json: JSONValue, tokenURIOverride: String? = nil) throws(PluginError) {
        if case .string(let text) = json {
            self = try ServiceAccount.parse(Array(text.utf8), tokenURIOverride: tokenURIOverride)
            return
        }
        guard json.objectValue != nil else { throw PluginError(.config, "service account key must be a JSON object") }

        let type = try Self.requiredString(json, "type")
        guard type == "service_account" else {
            throw PluginError(.config, "service account key field \"type\" is \"\(type)\"; expected \"service_account\"")
        }
        let projectID = try Self.requiredString(json, "project_id")
        let privateKeyID = try Self.requiredString(json, "private_key_id")
        let privateKey = try Self.requiredString(json, "private_key")
        let clientEmail = try Self.requiredString(json, "client_email")
        guard clientEmail.contains("@") else {
            throw PluginError(.config, "service account key field \"client_email\" is not an email address")
        }
        var tokenURI = ServiceAccount.defaultTokenURI
        if let override = tokenURIOverride {
            tokenURI = override
        } else if let value = json["token_uri"], !value.isNull {
            guard let text = value.stringValue, !text.isEmpty else {
                throw PluginError(.config, "service account key field \"token_uri\" must be a non-empty string")
            }
            tokenURI = text
        }
        guard tokenURI.hasPrefix("https://") || tokenURI.hasPrefix("http://") else {
            throw PluginError(.config, "service account token URI \"\(tokenURI)\" is not an http(s) URL")
        }
        self.init(projectID: projectID, privateKeyID: privateKeyID, privateKeyPEM: privateKey,
                  clientEmail: clientEmail, tokenURI: tokenURI)
    }

    private static func requiredString(_ json: JSONValue, _ field: String) throws(PluginError) -> String {
        guard let value = json[field], !value.isNull else {
            throw PluginError(.config, "service account key is missing \"\(field)\"")
        }
        guard let text = value.stringValue else {
            throw PluginError(.config, "service account key field \"\(field)\" must be a string")
        }
        guard !text.isEmpty else {
            throw PluginError(.config, "service account key field \"\(field)\" is empty")
        }
        return text
    }
}

/// Never prints the private key (errors and logs may show the account).
extension ServiceAccount: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var customMirror: Mirror {
        Mirror(self, children: ["projectID": projectID, "privateKeyID": privateKeyID, "privateKeyPEM": "<redacted>",
                                "clientEmail": clientEmail, "tokenURI": tokenURI])
    }
    public var description: String {
        "ServiceAccount(\(clientEmail), project \(projectID), key \(privateKeyID), token URI \(tokenURI))"
    }
    public var debugDescription: String { description }
}
