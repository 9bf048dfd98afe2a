import Testing
@testable import BedrockPlugin

@Suite struct AWSEndpointsTests {
    @Test func buildsBedrockRuntimeURLs() throws {
        let id = "anthropic.claude-3-5-sonnet-20240620-v1:0"
        #expect(try BedrockRuntime.endpoint(region: "us-east-1") == "https://bedrock-runtime.us-east-1.amazonaws.com")
        #expect(try BedrockRuntime.path(modelID: id, operation: .converse) == "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse")
        #expect(try BedrockRuntime.path(modelID: id, operation: .converseStream) == "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream")
        #expect(try BedrockRuntime.path(modelID: id, operation: .invoke) == "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/invoke")
        #expect(try BedrockRuntime.path(modelID: id, operation: .invokeWithResponseStream) == "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/invoke-with-response-stream")
        #expect(try BedrockRuntime.url(region: "eu-central-1", modelID: "amazon.titan-embed-text-v2:0", operation: .invoke)
            == "https://bedrock-runtime.eu-central-1.amazonaws.com/model/amazon.titan-embed-text-v2%3A0/invoke")
        #expect(try BedrockRuntime.endpoint(region: "cn-north-1") == "https://bedrock-runtime.cn-north-1.amazonaws.com.cn")
        #expect(BedrockRuntime.Operation.allCases.filter(\.isStreaming) == [.converseStream, .invokeWithResponseStream])
    }

    @Test func buildsSageMakerRuntimeURLs() throws {
        #expect(try SageMakerRuntime.endpoint(region: "eu-west-1") == "https://runtime.sagemaker.eu-west-1.amazonaws.com")
        #expect(try SageMakerRuntime.path(endpointName: "my-endpoint", operation: .invocations) == "/endpoints/my-endpoint/invocations")
        #expect(try SageMakerRuntime.url(region: "eu-west-1", endpointName: "my-endpoint", operation: .invocationsResponseStream)
            == "https://runtime.sagemaker.eu-west-1.amazonaws.com/endpoints/my-endpoint/invocations-response-stream")
    }

    /// The helpers produce the very URLs of the fixture's Bedrock and SageMaker cases.
    @Test func matchTheFixtureURLs() throws {
        let urls = Set(try SigV4Vector.load().map(\.request.url))
        #expect(urls.contains(try BedrockRuntime.url(region: "us-east-1", modelID: "anthropic.claude-3-5-sonnet-20240620-v1:0", operation: .invoke)))
        #expect(urls.contains(try BedrockRuntime.url(region: "us-west-2", modelID: "us.anthropic.claude-sonnet-4-5-20250929-v1:0", operation: .converseStream)))
        #expect(urls.contains(try SageMakerRuntime.url(region: "eu-west-1", endpointName: "my-endpoint", operation: .invocations)))
    }

    @Test func refusesRegionsThatWouldChangeTheHost() {
        for region in ["", "us-east-1.evil.com", "us-east-1/", "US-EAST-1", "us east"] {
            #expect(throws: SigV4Error.invalidRegion(region)) { try BedrockRuntime.endpoint(region: region) }
            #expect(throws: SigV4Error.invalidRegion(region)) { try SageMakerRuntime.endpoint(region: region) }
        }
    }

    @Test func refusesEmptyNames() {
        #expect(throws: SigV4Error.self) { try BedrockRuntime.path(modelID: "", operation: .invoke) }
        #expect(throws: SigV4Error.self) { try SageMakerRuntime.path(endpointName: "", operation: .invocations) }
    }
}
