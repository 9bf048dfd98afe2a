import Testing
import TollgatePluginKit
@testable import BedrockPlugin

@Suite struct AWSChannelSettingsTests {
    typealias F = PluginFixture

    @Test func describesThePlugin() throws {
        #expect(BedrockAdaptor.name == "bedrock")
        #expect(BedrockAdaptor.version == "1.0.0")
        #expect(BedrockAdaptor.providerIDs == ["bedrock", "sagemaker"])
        #expect(try BedrockAdaptor(providerID: "sagemaker", apiVersion: "").provider == .sagemaker)
        let refused = F.failure { _ = try BedrockAdaptor(providerID: "vertex", apiVersion: "") }
        #expect(refused?.kind == .config)
        #expect(try BedrockAdaptor(providerID: "bedrock", apiVersion: "").makeChannel(settings: F.settingsJSON()) is BedrockChannel)
        #expect(try BedrockAdaptor(providerID: "sagemaker", apiVersion: "").makeChannel(settings: F.settingsJSON()) is SageMakerChannel)
    }

    @Test func buildsRegionalEndpoints() throws {
        #expect(try F.settings(.bedrock, region: "eu-west-3").baseURL == "https://bedrock-runtime.eu-west-3.amazonaws.com")
        #expect(try F.settings(.sagemaker, region: "us-west-2").baseURL == "https://runtime.sagemaker.us-west-2.amazonaws.com")
        #expect(try F.settings(.bedrock, region: "cn-north-1").baseURL == "https://bedrock-runtime.cn-north-1.amazonaws.com.cn")
        let settings = try F.settings(.bedrock, region: "ap-south-1")
        #expect(settings.signer.region == "ap-south-1")
        #expect(settings.signer.service == "bedrock")
        #expect(settings.hostHeader == "bedrock-runtime.ap-south-1.amazonaws.com")
        #expect(try F.settings(.sagemaker).signer.service == "sagemaker")
    }

    @Test func overridesTheEndpointWithBaseURL() throws {
        let mock = try F.settings(.bedrock, baseURL: "http://127.0.0.1:8123/", region: nil)
        #expect(mock.baseURL == "http://127.0.0.1:8123")
        #expect(mock.hostHeader == "127.0.0.1:8123")
        #expect(mock.signer.region == "us-east-1", "no region given and none in the host: us-east-1")
        let vpce = try F.settings(.bedrock, baseURL: "https://vpce-0a1b.bedrock-runtime.eu-central-1.vpce.amazonaws.com", region: nil)
        #expect(vpce.signer.region == "eu-central-1")
        let sagemaker = try F.settings(.sagemaker, baseURL: "https://runtime.sagemaker.sa-east-1.amazonaws.com", region: nil)
        #expect(sagemaker.signer.region == "sa-east-1")
        let explicit = try F.settings(.bedrock, baseURL: "https://proxy.internal/aws", region: "us-west-2")
        #expect(explicit.signer.region == "us-west-2")
        #expect(explicit.baseURL == "https://proxy.internal/aws")
    }

    @Test func refusesBadSettingsNamingTheField() {
        func error(_ json: String, _ provider: AWSProvider = .bedrock) -> PluginError? {
            F.failure { _ = try AWSChannelSettings(try! JSONParser.parse(json), provider: provider, clock: F.clock) }
        }
        let good = #""credentials":{"access_key_id":"AKID","secret_access_key":"s"}"#
        let cases: [(String, String)] = [
            ("[]", "settings must be a JSON object"),
            (#"{"options":{"region":"us-east-1"}}"#, "credentials.access_key_id is required"),
            (#"{"credentials":{"access_key_id":"AKID"},"options":{"region":"us-east-1"}}"#, "credentials.secret_access_key is required"),
            (#"{"credentials":{"access_key_id":"","secret_access_key":"s"},"options":{"region":"us-east-1"}}"#, "credentials.access_key_id is required"),
            (#"{"credentials":{"access_key_id":"AK ID","secret_access_key":"s"},"options":{"region":"us-east-1"}}"#, "credentials.access_key_id:"),
            (#"{"credentials":{"access_key_id":5,"secret_access_key":"s"}}"#, "credentials.access_key_id must be a string"),
            (#"{"credentials":{"access_key_id":"AKID","secret_access_key":"s","session_token":"a\nb"},"options":{"region":"us-east-1"}}"#, "credentials.session_token"),
            (#"{\#(good)}"#, "options.region is required"),
            (#"{\#(good),"options":{"region":"US East"}}"#, "options.region \"US East\" is not a valid AWS region"),
            (#"{\#(good),"base_url":"ftp://x"}"#, "base_url:"),
            (#"{\#(good),"base_url":"http://h?x=1"}"#, "base_url must not have a query"),
            (#"{\#(good),"base_url":7}"#, "base_url must be a string"),
            (#"{\#(good),"options":{"region":"us-east-1","usage_path":"usage..x"}}"#, "options.usage_path"),
            (#"{\#(good),"options":{"region":"us-east-1","usage_completion_path":""}}"#, "options.usage_completion_path"),
        ]
        for (json, fragment) in cases {
            let failure = error(json)
            #expect(failure?.kind == .config, "\(json)")
            #expect(failure?.message.contains(fragment) == true, "\(json): \(failure?.message ?? "no error")")
        }
    }

    @Test func parsesUsagePaths() throws {
        let json = try JSONParser.parse(#"{"usage":{"prompt_tokens":7,"x":1.0},"list":[{"n":3}],"s":"4"}"#)
        #expect(UsagePath("usage.prompt_tokens")?.int(in: json) == 7)
        #expect(UsagePath("$.usage.prompt_tokens")?.int(in: json) == 7)
        #expect(UsagePath("usage.x")?.int(in: json) == 1)
        #expect(UsagePath("list.0.n")?.int(in: json) == 3)
        #expect(UsagePath("list.1.n")?.int(in: json) == nil)
        #expect(UsagePath("s")?.int(in: json) == nil)
        #expect(UsagePath("") == nil)
        #expect(UsagePath("a.") == nil)
        #expect(UsagePath(".a") == nil)
    }

    @Test func signsTheRequestSoAWSCanVerifyIt() throws {
        let settings = try F.settings(.bedrock, region: "us-east-1", token: "FQoGZXIvYXdzEJr//////////")
        let request = try BedrockChannel(settings).build(model: "anthropic.claude-3-5-sonnet-20240620-v1:0",
                                                         body: Array(#"{"messages":[{"role":"user","content":"hi"}]}"#.utf8), stream: false)
        #expect(request.method == "POST")
        #expect(request.url == "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse")
        #expect(request.headers.map(\.0) == ["Host", "Content-Type", "Accept", "X-Amz-Date", "X-Amz-Security-Token", "Authorization"])
        #expect(header("x-amz-date", in: lowered(request.headers)) == "20240703T094640Z")
        #expect(header("host", in: lowered(request.headers)) == "bedrock-runtime.us-east-1.amazonaws.com")
        #expect(header("x-amz-security-token", in: lowered(request.headers)) == "FQoGZXIvYXdzEJr//////////")

        // What the service does: recompute from the received request and compare.
        let authorization = try #require(header("authorization", in: lowered(request.headers)))
        #expect(authorization.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240703/us-east-1/bedrock/aws4_request, SignedHeaders=accept;content-type;host;x-amz-date;x-amz-security-token, Signature="))
        let unsigned = request.headers.filter { !["authorization", "x-amz-date", "x-amz-security-token"].contains($0.0.lowercased()) }
        let verifier = try SigV4Signer(credentials: AWSCredentials(accessKeyID: F.accessKeyID, secretAccessKey: F.secret,
                                                                   sessionToken: "FQoGZXIvYXdzEJr//////////"),
                                       region: "us-east-1", service: "bedrock")
        let expected = try verifier.sign(method: "POST", url: request.url, headers: unsigned, body: request.body,
                                         at: SigningTime(unixSeconds: F.unixSeconds))
        #expect(expected.authorization == authorization)
        #expect(expected.canonicalRequest.uri == "/model/anthropic.claude-3-5-sonnet-20240620-v1%253A0/converse")
    }

    @Test func streamsGoToConverseStreamAndTheMockHostIsSigned() throws {
        let request = try F.bedrock(baseURL: "http://127.0.0.1:9/prefix").build(model: "amazon.nova-lite-v1:0",
                                                                                body: Array(#"{"messages":[]}"#.utf8), stream: true)
        #expect(request.url == "http://127.0.0.1:9/prefix/model/amazon.nova-lite-v1%3A0/converse-stream")
        #expect(header("host", in: lowered(request.headers)) == "127.0.0.1:9")
        #expect(header("accept", in: lowered(request.headers)) == "application/vnd.amazon.eventstream")
        #expect(String(decoding: request.body, as: UTF8.self) == #"{"messages":[]}"#)

        let embeddings = F.failure { _ = try F.bedrock().build(operation: .embeddings, model: "m", body: Array("{}".utf8), stream: false) }
        #expect(embeddings?.kind == .unsupported)
        let empty = F.failure { _ = try F.bedrock().build(model: "", body: Array(#"{"messages":[]}"#.utf8), stream: false) }
        #expect(empty?.kind == .invalidInput)
    }

    func lowered(_ headers: [(String, String)]) -> [(String, String)] { headers.map { ($0.0.lowercased(), $0.1) } }
}
