import Testing
import TollgatePluginKit
@testable import VertexPlugin

@Suite struct VertexURLsTests {
    @Test func regionalEndpointsForGeminiAndClaude() throws {
        let urls = try VertexURLs(project: "acme-prod", location: "us-central1")
        let prefix = "https://us-central1-aiplatform.googleapis.com/v1/projects/acme-prod/locations/us-central1"
        #expect(urls.generateContent(model: "gemini-2.5-pro") == prefix + "/publishers/google/models/gemini-2.5-pro:generateContent")
        #expect(urls.streamGenerateContent(model: "gemini-2.5-pro")
            == prefix + "/publishers/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse")
        #expect(urls.rawPredict(model: "claude-sonnet-4@20250514")
            == prefix + "/publishers/anthropic/models/claude-sonnet-4@20250514:rawPredict")
        #expect(urls.streamRawPredict(model: "claude-sonnet-4@20250514")
            == prefix + "/publishers/anthropic/models/claude-sonnet-4@20250514:streamRawPredict")
    }

    @Test func globalUsesTheUnprefixedHost() throws {
        let urls = try VertexURLs(project: "acme-prod", location: "global")
        #expect(urls.base == "https://aiplatform.googleapis.com")
        #expect(urls.generateContent(model: "gemini-2.5-flash")
            == "https://aiplatform.googleapis.com/v1/projects/acme-prod/locations/global/publishers/google/models/gemini-2.5-flash:generateContent")
    }

    @Test func aBaseURLOverridesTheHostAndLosesTrailingSlashes() throws {
        let urls = try VertexURLs(project: "p", location: "europe-west4", baseURL: "http://127.0.0.1:8080/vertex//")
        #expect(urls.base == "http://127.0.0.1:8080/vertex")
        #expect(urls.rawPredict(model: "claude")
            == "http://127.0.0.1:8080/vertex/v1/projects/p/locations/europe-west4/publishers/anthropic/models/claude:rawPredict")
        // An empty override means "none".
        #expect(try VertexURLs(project: "p", location: "asia-east1", baseURL: "").base == "https://asia-east1-aiplatform.googleapis.com")
    }

    @Test func anotherAPIVersion() throws {
        let urls = try VertexURLs(project: "p", location: "us-east5", apiVersion: "v1beta1")
        #expect(urls.generateContent(model: "m") == "https://us-east5-aiplatform.googleapis.com/v1beta1/projects/p/locations/us-east5/publishers/google/models/m:generateContent")
    }

    @Test func pathSegmentsArePercentEncoded() throws {
        let urls = try VertexURLs(project: "my project/../x", location: "us-central1", baseURL: "https://proxy.test")
        #expect(urls.generateContent(model: "a/b:c?d#e%f é")
            == "https://proxy.test/v1/projects/my%20project%2F..%2Fx/locations/us-central1/publishers/google/models/a%2Fb%3Ac%3Fd%23e%25f%20%C3%A9:generateContent")
        // Unreserved characters and `@` are left alone.
        #expect(urls.rawPredict(model: "claude-3.5_v~2@2024") .hasSuffix("/models/claude-3.5_v~2@2024:rawPredict"))
    }

    @Test(arguments: ["US-CENTRAL1", "us central1", "evil.com/x", "a.b", "-us", "us-", "", String(repeating: "a", count: 64)])
    func aLocationThatIsNotAHostLabelIsRefused(location: String) {
        do {
            _ = try VertexURLs(project: "p", location: location)
            Issue.record("accepted \(location)")
        } catch {
            #expect(error.kind == .config)
            #expect(error.message.contains("location"))
        }
    }

    @Test func emptyProjectAndBadBaseAreRefused() {
        #expect(throws: PluginError.self) { try VertexURLs(project: "", location: "us-central1") }
        #expect(throws: PluginError.self) { try VertexURLs(project: "p", location: "us-central1", apiVersion: "") }
        do {
            _ = try VertexURLs(project: "p", location: "us-central1", baseURL: "aiplatform.googleapis.com")
            Issue.record("accepted a base without a scheme")
        } catch {
            #expect(error.message == "Vertex base URL \"aiplatform.googleapis.com\" is not an http(s) URL")
        }
    }
}
