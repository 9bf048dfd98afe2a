import Testing
@testable import BedrockPlugin

/// Cases beyond the fixture; expected texts and signatures computed with botocore 1.43.11.
@Suite struct SigV4SignerTests {
    static let credentials = AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    static let time = SigningTime(unixSeconds: 1_440_938_160) // 2015-08-30T12:36:00Z

    func signer(_ region: String = "us-east-1", _ service: String, token: String? = nil) throws -> SigV4Signer {
        var credentials = Self.credentials
        credentials.sessionToken = token
        return try SigV4Signer(credentials: credentials, region: region, service: service)
    }

    /// AWS's published get-vanilla signature (aws-sig-v4-test-suite), independent of botocore.
    @Test func getVanillaHasAWSsPublishedSignature() throws {
        let result = try signer("us-east-1", "service").sign(method: "GET", url: "https://example.amazonaws.com/", body: [], at: Self.time)
        #expect(result.signature == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
    }

    /// AWS's documented key-derivation example (secret above, 20120215, us-east-1, iam).
    @Test func derivesTheDocumentedSigningKey() throws {
        let key = try #require(try signer("us-east-1", "iam").signingKey(dateStamp: "20120215"))
        #expect(Hashing.hex(key) == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d")
    }

    @Test func signsAnInferenceProfileARNWhoseSlashAndColonsAreEncodedTwice() throws {
        let url = try BedrockRuntime.url(
            region: "us-east-1",
            modelID: "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20240620-v1:0",
            operation: .converse)
        #expect(url == "https://bedrock-runtime.us-east-1.amazonaws.com/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse")
        let result = try signer("us-east-1", "bedrock").sign(method: "POST", url: url, headers: [("Content-Type", "application/json")],
                                                            body: Array("{}".utf8), at: Self.time)
        #expect(result.canonicalRequest.uri == "/model/arn%253Aaws%253Abedrock%253Aus-east-1%253A123456789012%253Ainference-profile%252Fus.anthropic.claude-3-5-sonnet-20240620-v1%253A0/converse")
        #expect(result.stringToSign == "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/bedrock/aws4_request\n9d06155fa4648a0e4c0407564556b283c54ab8d80c1014743e6cee236ddda075")
        #expect(result.signature == "cc7bd012aa239b90eb57197d13a7225913081525e56261979d2d28bdac3d311a")
    }

    @Test func normalizesPathKeepsPortJoinsRepeatedHeadersAndSkipsUserAgent() throws {
        let result = try signer("us-east-1", "service").sign(
            method: "get", url: "http://localhost:8080/a/./b/../c//d/?b=2&a=1&a=0&flag",
            headers: [("X-Dup", "one"), ("x-dup", " two  three "), ("User-Agent", "ua")], body: [], at: Self.time)
        #expect(result.canonicalRequest.text == "GET\n/a/c/d/\na=0&a=1&b=2&flag=\nhost:localhost:8080\nx-amz-date:20150830T123600Z\nx-dup:one,two three\n\nhost;x-amz-date;x-dup\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(result.authorization == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date;x-dup, Signature=4e7f3cd81ca7270e8f2c26b203586af75bf7c81d64a06e81f17b111461de35a6")
    }

    @Test func s3SignsThePathAsSentWithTheContentHash() throws {
        let result = try signer("us-east-1", "s3").sign(method: "PUT", url: "https://bucket.s3.amazonaws.com/key%20with%20space.txt",
                                                       body: Array("hello".utf8), at: Self.time, includeContentSHA256: true)
        #expect(result.canonicalRequest.uri == "/key%20with%20space.txt")
        #expect(result.signature == "06392b49933f2d4fa206092803344fc2979036a000a416fa783787be7924a6dd")
        #expect(result.headers.map(\.name) == ["X-Amz-Date", "X-Amz-Content-SHA256", "Authorization"])
        #expect(result.headers[1].value == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
    }

    @Test func signsContentHashAndSessionTokenAndDropsTheDefaultPort() throws {
        let result = try signer("eu-west-1", "sagemaker", token: "TOKEN").sign(
            method: "POST", url: "https://runtime.sagemaker.eu-west-1.amazonaws.com:443/endpoints/my-endpoint/invocations-response-stream",
            headers: [("Content-Type", "application/json")], body: Array(#"{"inputs":"hi"}"#.utf8), at: Self.time,
            includeContentSHA256: true)
        #expect(result.canonicalRequest.signedHeaders == "content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token")
        #expect(result.canonicalRequest.headers.first { $0.name == "host" }?.value == "runtime.sagemaker.eu-west-1.amazonaws.com")
        #expect(result.stringToSign.hasSuffix("1234a868ba512f24d9dad07e048339b5d3960c54e979a15514c5c9c3043e564a"))
        #expect(result.signature == "6532f2d3a48bb76c5a195296f5f8927a58c86d68e636d4b65e85c095d7492484")
        #expect(result.headers.map(\.name) == ["X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Content-SHA256", "Authorization"])
    }

    /// A retried request carries the previous attempt's auth headers; they must not be signed.
    @Test func replacesStaleAuthHeadersFromAnEarlierAttempt() throws {
        let s = try signer("us-east-1", "service", token: "NEW")
        let fresh = try s.sign(method: "GET", url: "https://example.amazonaws.com/", body: [], at: Self.time)
        let retried = try s.sign(method: "GET", url: "https://example.amazonaws.com/",
                                 headers: [("Authorization", "AWS4-HMAC-SHA256 old"), ("X-Amz-Date", "20000101T000000Z"),
                                           ("x-amz-security-token", "OLD")],
                                 body: [], at: Self.time)
        #expect(retried.canonicalRequest == fresh.canonicalRequest)
        #expect(retried.signature == fresh.signature)
    }

    @Test func aGivenHostHeaderIsSignedInsteadOfTheURLsHost() throws {
        let result = try signer("us-east-1", "service").sign(method: "GET", url: "http://127.0.0.1:9000/",
                                                            headers: [("Host", "example.amazonaws.com")], body: [], at: Self.time)
        #expect(result.canonicalRequest.headers.map(\.name) == ["host", "x-amz-date"])
        #expect(result.signature == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
    }

    @Test func anEmptySessionTokenCountsAsNone() throws {
        let result = try signer("us-east-1", "service", token: "").sign(method: "GET", url: "https://example.amazonaws.com/",
                                                                        body: [], at: Self.time)
        #expect(result.headers.map(\.name) == ["X-Amz-Date", "Authorization"])
    }

    // MARK: Refusals

    @Test func refusesAnEmptySecretWithAClearError() {
        #expect(throws: SigV4Error.emptySecretAccessKey) {
            try SigV4Signer(credentials: AWSCredentials(accessKeyID: "AKID", secretAccessKey: ""), region: "us-east-1", service: "bedrock")
        }
        #expect(SigV4Error.emptySecretAccessKey.description == "AWS credentials: the secret access key is empty")
    }

    @Test func refusesBadCredentialsRegionAndService() {
        #expect(throws: SigV4Error.emptyAccessKeyID) {
            try SigV4Signer(credentials: AWSCredentials(accessKeyID: "", secretAccessKey: "s"), region: "us-east-1", service: "bedrock")
        }
        #expect(throws: SigV4Error.invalidAccessKeyID) {
            try SigV4Signer(credentials: AWSCredentials(accessKeyID: "AK ID", secretAccessKey: "s"), region: "us-east-1", service: "bedrock")
        }
        #expect(throws: SigV4Error.self) {
            try SigV4Signer(credentials: AWSCredentials(accessKeyID: "AKID", secretAccessKey: "s", sessionToken: "a\r\nb"),
                            region: "us-east-1", service: "bedrock")
        }
        #expect(throws: SigV4Error.invalidRegion("")) {
            try SigV4Signer(credentials: Self.credentials, region: "", service: "bedrock")
        }
        #expect(throws: SigV4Error.invalidRegion("us-east-1.evil.com/")) {
            try SigV4Signer(credentials: Self.credentials, region: "us-east-1.evil.com/", service: "bedrock")
        }
        #expect(throws: SigV4Error.invalidService("Bedrock")) {
            try SigV4Signer(credentials: Self.credentials, region: "us-east-1", service: "Bedrock")
        }
    }

    @Test(arguments: [
        "", "bedrock-runtime.us-east-1.amazonaws.com/model/x/invoke", "ftp://example.com/", "https://", "https:///path",
        "https://exa mple.com/", "https://example.com:0/", "https://example.com:65536/", "https://example.com:/",
        "https://example.com:12a/", "https://user:pw@example.com/", "https://[::1/", "https://[::1]x/", "https://[zz]/",
        "https://example.com/\npath", "https://example.com/\u{7F}",
    ])
    func refusesAnInvalidURL(_ url: String) throws {
        let error = try #require(throws: SigV4Error.self) {
            try signer("us-east-1", "service").sign(method: "GET", url: url, body: [], at: Self.time)
        }
        guard case .invalidURL(let reported, let reason) = error else {
            Issue.record("expected invalidURL, got \(error)")
            return
        }
        #expect(reported == url)
        #expect(!reason.isEmpty)
        #expect(error.description.contains("cannot be signed"))
    }

    @Test func refusesHeadersThatWouldCorruptTheCanonicalForm() throws {
        let s = try signer("us-east-1", "service")
        for header in [("X-Bad", "a\r\nX-Injected: 1"), ("Bad Name", "v"), ("", "v"), ("X:Colon", "v")] {
            #expect(throws: SigV4Error.self, "\(header)") {
                try s.sign(method: "GET", url: "https://example.amazonaws.com/", headers: [header], body: [], at: Self.time)
            }
        }
        #expect(throws: SigV4Error.invalidMethod("GE T")) {
            try s.sign(method: "GE T", url: "https://example.amazonaws.com/", body: [], at: Self.time)
        }
    }

    // MARK: Pieces

    @Test func parsesURLsIntoTheirWireParts() throws {
        let url = try RequestURL(parsing: "HTTPS://Bedrock-Runtime.US-EAST-1.amazonaws.com:8443/model/a%3Ab/invoke?x=1&y#frag")
        #expect(url.scheme == "https")
        #expect(url.host == "bedrock-runtime.us-east-1.amazonaws.com")
        #expect(url.port == 8443)
        #expect(url.path == "/model/a%3Ab/invoke")
        #expect(url.query == "x=1&y")
        #expect(url.hostHeader == "bedrock-runtime.us-east-1.amazonaws.com:8443")
        #expect(try RequestURL(parsing: "http://example.com").path == "/")
        #expect(try RequestURL(parsing: "http://example.com:80?q").hostHeader == "example.com")
        #expect(try RequestURL(parsing: "http://example.com:80?q").query == "q")
        #expect(try RequestURL(parsing: "http://[::1]:8080/").hostHeader == "[::1]:8080")
    }

    @Test func normalizesPaths() {
        #expect(CanonicalRequest.canonicalURI(path: "/", service: "bedrock") == "/")
        #expect(CanonicalRequest.canonicalURI(path: "", service: "bedrock") == "/")
        #expect(CanonicalRequest.canonicalURI(path: "//", service: "bedrock") == "/")
        #expect(CanonicalRequest.canonicalURI(path: "/./", service: "bedrock") == "/")
        #expect(CanonicalRequest.canonicalURI(path: "/../..", service: "bedrock") == "/")
        #expect(CanonicalRequest.canonicalURI(path: "/example/..", service: "bedrock") == "/")
        #expect(CanonicalRequest.canonicalURI(path: "/a b/é", service: "bedrock") == "/a%20b/%C3%A9")
        #expect(CanonicalRequest.canonicalURI(path: "/~a-b_c.d", service: "bedrock") == "/~a-b_c.d")
        #expect(CanonicalRequest.canonicalURI(path: "/a//b/./c", service: "s3") == "/a//b/./c")
    }

    @Test func normalizesHeaderValues() {
        #expect(CanonicalRequest.normalizedValue("  a \t  b   c  ") == "a b c")
        #expect(CanonicalRequest.normalizedValue("") == "")
        #expect(CanonicalRequest.normalizedValue("   ") == "")
        #expect(CanonicalRequest.normalizedValue("\"a   b\"") == "\"a b\"")
    }

    @Test func sortsQueryParametersByNameThenValue() {
        #expect(CanonicalRequest.canonicalQuery("") == "")
        #expect(CanonicalRequest.canonicalQuery("b=1&a=2&a=1&A=3&&c") == "A=3&a=1&a=2&b=1&c=")
        #expect(CanonicalRequest.canonicalQuery("k=%E1%88%B4&a=%20") == "a=%20&k=%E1%88%B4")
    }
}
