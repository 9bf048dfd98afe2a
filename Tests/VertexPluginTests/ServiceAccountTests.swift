import Testing
import TollgatePluginKit
@testable import VertexPlugin

@Suite struct ServiceAccountTests {
    static let pem = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"

    /// A key file as the Cloud console writes it (fields in its order).
    static func keyFile(dropping dropped: String? = nil, replacing: (String, JSONValue)? = nil) -> JSONValue {
        var members: [JSONValue.Member] = [
            .init("type", .string("service_account")),
            .init("project_id", .string("acme-prod")),
            .init("private_key_id", .string("0123456789abcdef")),
            .init("private_key", .string(pem)),
            .init("client_email", .string("gateway@acme-prod.iam.gserviceaccount.com")),
            .init("client_id", .string("1234567890")),
            .init("auth_uri", .string("https://accounts.google.com/o/oauth2/auth")),
            .init("token_uri", .string("https://oauth2.googleapis.com/token")),
        ]
        if let dropped { members.removeAll { $0.key == dropped } }
        if let (key, value) = replacing {
            if let i = members.firstIndex(where: { $0.key == key }) { members[i].value = value } else { members.append(.init(key, value)) }
        }
        return .object(members)
    }

    func configError(_ body: () throws(PluginError) -> ServiceAccount) -> String? {
        do {
            _ = try body()
            return nil
        } catch {
            #expect(error.kind == .config)
            return error.message
        }
    }

    @Test func readsAKeyFile() throws {
        let account = try ServiceAccount.parse(Self.keyFile().serialized())
        #expect(account.projectID == "acme-prod")
        #expect(account.privateKeyID == "0123456789abcdef")
        #expect(account.privateKeyPEM == Self.pem)
        #expect(account.clientEmail == "gateway@acme-prod.iam.gserviceaccount.com")
        #expect(account.tokenURI == "https://oauth2.googleapis.com/token")
    }

    @Test func tokenURIDefaultsWhenAbsentOrNull() throws {
        #expect(try ServiceAccount(json: Self.keyFile(dropping: "token_uri")).tokenURI == ServiceAccount.defaultTokenURI)
        #expect(try ServiceAccount(json: Self.keyFile(replacing: ("token_uri", .null))).tokenURI == ServiceAccount.defaultTokenURI)
    }

    @Test func keepsTheKeyFilesTokenURIAndLetsAnOverrideWin() throws {
        let custom = try ServiceAccount(json: Self.keyFile(replacing: ("token_uri", .string("https://oauth2.example.test/token"))))
        #expect(custom.tokenURI == "https://oauth2.example.test/token")
        let overridden = try ServiceAccount(json: Self.keyFile(), tokenURIOverride: "http://127.0.0.1:8123/token")
        #expect(overridden.tokenURI == "http://127.0.0.1:8123/token")
    }

    @Test func acceptsTheKeyFilePastedAsAString() throws {
        let text = Self.keyFile().jsonString
        let account = try ServiceAccount(json: .string(text), tokenURIOverride: "http://127.0.0.1:1/t")
        #expect(account.clientEmail == "gateway@acme-prod.iam.gserviceaccount.com")
        #expect(account.tokenURI == "http://127.0.0.1:1/t")
    }

    @Test(arguments: ["type", "project_id", "private_key_id", "private_key", "client_email"])
    func aMissingFieldIsNamed(field: String) {
        let message = configError { () throws(PluginError) in try ServiceAccount(json: Self.keyFile(dropping: field)) }
        #expect(message == "service account key is missing \"\(field)\"")
    }

    @Test(arguments: ["type", "project_id", "private_key_id", "private_key", "client_email", "token_uri"])
    func aFieldOfTheWrongTypeIsNamed(field: String) {
        let message = configError { () throws(PluginError) in try ServiceAccount(json: Self.keyFile(replacing: (field, .int(42)))) }
        #expect(message?.contains("\"\(field)\"") == true, "\(message ?? "no error")")
        #expect(message?.contains("string") == true)
    }

    @Test func anEmptyFieldIsNamed() {
        let message = configError { () throws(PluginError) in try ServiceAccount(json: Self.keyFile(replacing: ("project_id", .string("")))) }
        #expect(message == "service account key field \"project_id\" is empty")
    }

    @Test func otherCredentialTypesAreRefused() {
        let message = configError { () throws(PluginError) in
            try ServiceAccount(json: Self.keyFile(replacing: ("type", .string("authorized_user"))))
        }
        #expect(message == "service account key field \"type\" is \"authorized_user\"; expected \"service_account\"")
    }

    @Test func clientEmailMustLookLikeAnEmail() {
        let message = configError { () throws(PluginError) in
            try ServiceAccount(json: Self.keyFile(replacing: ("client_email", .string("gateway"))))
        }
        #expect(message == "service account key field \"client_email\" is not an email address")
    }

    @Test func tokenURIMustBeHTTP() {
        let fromFile = configError { () throws(PluginError) in
            try ServiceAccount(json: Self.keyFile(replacing: ("token_uri", .string("file:///etc/passwd"))))
        }
        #expect(fromFile == "service account token URI \"file:///etc/passwd\" is not an http(s) URL")
        let fromOverride = configError { () throws(PluginError) in try ServiceAccount(json: Self.keyFile(), tokenURIOverride: "localhost:80") }
        #expect(fromOverride == "service account token URI \"localhost:80\" is not an http(s) URL")
    }

    @Test func notJSONOrNotAnObjectIsAConfigError() {
        let notJSON = configError { () throws(PluginError) in try ServiceAccount.parse(Array("{\"type\":".utf8)) }
        #expect(notJSON?.hasPrefix("service account key is not JSON") == true)
        let array = configError { () throws(PluginError) in try ServiceAccount(json: .array([])) }
        #expect(array == "service account key must be a JSON object")
        let pastedGarbage = configError { () throws(PluginError) in try ServiceAccount(json: .string("/path/to/key.json")) }
        #expect(pastedGarbage?.hasPrefix("service account key is not JSON") == true)
    }

    @Test func descriptionsNeverShowThePrivateKey() throws {
        let account = try ServiceAccount(json: Self.keyFile())
        for text in [String(describing: account), String(reflecting: account), { var s = ""; dump(account, to: &s); return s }()] {
            #expect(!text.contains("BEGIN PRIVATE KEY"), "\(text)")
            #expect(text.contains("gateway@acme-prod.iam.gserviceaccount.com"))
        }
    }
}
