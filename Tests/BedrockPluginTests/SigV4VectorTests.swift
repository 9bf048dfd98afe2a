import Foundation
import Testing
@testable import BedrockPlugin

/// One case of Fixtures/sigv4-vectors.json (computed with botocore; two also in AWS's suite).
struct SigV4Vector: Decodable, Sendable, CustomTestStringConvertible {
    struct Request: Decodable, Sendable {
        var method: String
        var url: String
        var headers: [String: String]
        var body_base64: String
    }
    struct Credentials: Decodable, Sendable {
        var access_key_id: String
        var secret_access_key: String
        var session_token: String?
    }
    var name: String
    var request: Request
    var credentials: Credentials
    var region: String
    var service: String
    var timestamp: String
    var canonical_request: String
    var string_to_sign: String
    var signature: String
    var authorization: String
    var added_headers: [String: String]

    var testDescription: String { name }

    static func load() throws -> [SigV4Vector] {
        struct File: Decodable { var cases: [SigV4Vector] }
        let url = try #require(Bundle.module.url(forResource: "sigv4-vectors", withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(File.self, from: Data(contentsOf: url)).cases
    }

    /// Headers in a stable order (JSON objects have none; the canonical form sorts anyway).
    var headers: [(String, String)] { request.headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }
}

@Suite struct SigV4VectorTests {
    @Test func theFixtureHoldsEveryExpectedCase() throws {
        let names = Set(try SigV4Vector.load().map(\.name))
        #expect(names.count == 12)
        for expected in ["get-vanilla", "get-query-sorted", "get-path-utf8", "get-header-trim", "post-session-token",
                         "bedrock-invoke-colon", "bedrock-converse-stream", "sagemaker-invocations"] {
            #expect(names.contains(expected), "missing \(expected)")
        }
    }

    @Test(arguments: try SigV4Vector.load())
    func matchesBotocore(_ vector: SigV4Vector) throws {
        let credentials = AWSCredentials(accessKeyID: vector.credentials.access_key_id,
                                         secretAccessKey: vector.credentials.secret_access_key,
                                         sessionToken: vector.credentials.session_token)
        let signer = try SigV4Signer(credentials: credentials, region: vector.region, service: vector.service)
        let time = try #require(SigningTime(amzDate: vector.timestamp))
        let body = try #require(Data(base64Encoded: vector.request.body_base64))
        let result = try signer.sign(method: vector.request.method, url: vector.request.url, headers: vector.headers,
                                     body: Array(body), at: time)

        #expect(result.canonicalRequest.text == vector.canonical_request)
        #expect(result.stringToSign == vector.string_to_sign)
        #expect(result.signature == vector.signature)
        #expect(result.authorization == vector.authorization)

        let added = result.headers.filter { $0.name != "Authorization" }
        #expect(Dictionary(uniqueKeysWithValues: added.map { ($0.name, $0.value) }) == vector.added_headers)
        #expect(added.count == vector.added_headers.count)
        #expect(result.headers.last?.name == "Authorization")
        #expect(result.headers.last?.value == vector.authorization)
    }
}
