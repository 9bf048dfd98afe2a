import Testing
import TollgatePluginKit
@testable import VertexPlugin

@Suite struct TokenExchangeTests {
    static let uri = "https://oauth2.googleapis.com/token"
    static let sent: Int64 = 1_000 * 1_000_000_000

    static func answer(_ status: Int, _ body: String) throws(PluginError) -> AccessToken {
        try TokenExchange.parseAnswer(status: status, body: Array(body.utf8), tokenURI: uri, sentAtNanos: sent)
    }

    static func failure(_ status: Int, _ body: String) -> PluginError? {
        do {
            _ = try answer(status, body)
            return nil
        } catch { return error }
    }

    @Test func requestIsAFormPostOfTheGrantAndAssertion() {
        #expect(String(decoding: TokenExchange.requestBody(assertion: "aaa.bbb.c-_"), as: UTF8.self)
            == "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=aaa.bbb.c-_")
        let headers = TokenExchange.requestHeaders()
        #expect(headers.contains { $0.0 == "Content-Type" && $0.1 == "application/x-www-form-urlencoded" })
    }

    @Test func readsGooglesAnswer() throws {
        let token = try Self.answer(200, #"{"access_token":"ya29.c.abc","expires_in":3599,"token_type":"Bearer"}"#)
        #expect(token == AccessToken(value: "ya29.c.abc", tokenType: "Bearer", expiresAtNanos: Self.sent + 3599 * 1_000_000_000))
        #expect(token.authorization == "Bearer ya29.c.abc")
    }

    @Test func toleratesLooseButMeaningfulAnswers() throws {
        let stringLifetime = try Self.answer(200, #"{"access_token":"t","expires_in":"120"}"#)
        #expect(stringLifetime.expiresAtNanos == Self.sent + 120 * 1_000_000_000)
        #expect(stringLifetime.tokenType == "Bearer")
        let fraction = try Self.answer(200, #"{"access_token":"t","expires_in":99.9,"token_type":"bearer"}"#)
        #expect(fraction.expiresAtNanos == Self.sent + 99 * 1_000_000_000)
    }

    @Test func googlesOAuthErrorIsQuoted() throws {
        let error = try #require(Self.failure(400, #"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#))
        #expect(error.kind == .auth)
        #expect(error.message == "token exchange at https://oauth2.googleapis.com/token failed with HTTP 400: invalid_grant: Invalid JWT Signature.")
        let bare = try #require(Self.failure(401, #"{"error":"unauthorized_client"}"#))
        #expect(bare.message.hasSuffix("failed with HTTP 401: unauthorized_client"))
    }

    @Test func googleRPCErrorsAndOtherBodiesAreQuoted() throws {
        let rpc = try #require(Self.failure(403, #"{"error":{"code":403,"message":"Permission denied","status":"PERMISSION_DENIED"}}"#))
        #expect(rpc.message.hasSuffix("failed with HTTP 403: PERMISSION_DENIED: Permission denied"))
        let html = try #require(Self.failure(502, "<html>Bad Gateway</html>"))
        #expect(html.message.hasSuffix("failed with HTTP 502: <html>Bad Gateway</html>"))
        let empty = try #require(Self.failure(500, ""))
        #expect(empty.message.hasSuffix("failed with HTTP 500: empty body"))
        let long = try #require(Self.failure(500, String(repeating: "x", count: 1000)))
        #expect(long.message.count < 300)
    }

    @Test(arguments: [
        ("not json", "a body that is not a JSON object"),
        (#"["access_token"]"#, "a body that is not a JSON object"),
        (#"{"expires_in":3600}"#, #"without an "access_token" string"#),
        (#"{"access_token":"","expires_in":3600}"#, #"without an "access_token" string"#),
        (#"{"access_token":7,"expires_in":3600}"#, #"without an "access_token" string"#),
        (#"{"access_token":"t"}"#, #"without a positive "expires_in""#),
        (#"{"access_token":"t","expires_in":0}"#, #"without a positive "expires_in""#),
        (#"{"access_token":"t","expires_in":-5}"#, #"without a positive "expires_in""#),
        (#"{"access_token":"t","expires_in":"soon"}"#, #"without a positive "expires_in""#),
        (#"{"access_token":"t","expires_in":60,"token_type":"MAC"}"#, #"token_type "MAC"; expected "Bearer""#),
    ])
    func malformedAnswersAreAuthFailures(body: String, reason: String) throws {
        let error = try #require(Self.failure(200, body))
        #expect(error.kind == .auth)
        #expect(error.message.hasPrefix("token exchange at https://oauth2.googleapis.com/token answered"))
        #expect(error.message.contains(reason), "\(error.message)")
    }

    @Test func hugeLifetimesSaturate() throws {
        let token = try Self.answer(200, #"{"access_token":"t","expires_in":9000000000000000000}"#)
        #expect(token.expiresAtNanos == Int64.max)
    }
}
