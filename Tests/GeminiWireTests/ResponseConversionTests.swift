import Testing
import TollgatePluginKit
@testable import GeminiWire

@Suite struct ResponseConversionTests {
    func convert(_ text: String) throws(PluginError) -> (json: JSONValue, usage: PluginUsage) {
        let converted = try GeminiResponse.toOpenAI(bytes(text), model: "client-model", created: 1_700_000_000)
        return (json(String(decoding: converted.body, as: UTF8.self)), converted.usage)
    }

    @Test func textWithCachedAndThinkingUsage() throws {
        let (out, usage) = try convert("""
        {"candidates":[{"content":{"role":"model","parts":[{"text":"Let me think.","thought":true},{"text":"Hello"},{"text":" there"}]},"finishReason":"STOP","index":0}],
         "usageMetadata":{"promptTokenCount":100,"cachedContentTokenCount":40,"candidatesTokenCount":20,"thoughtsTokenCount":30,"totalTokenCount":150},
         "modelVersion":"gemini-2.5-flash","responseId":"abc123"}
        """)
        #expect(out["id"]?.stringValue == "chatcmpl-abc123")
        #expect(out["object"]?.stringValue == "chat.completion")
        #expect(out["created"]?.int64Value == 1_700_000_000)
        #expect(out["model"]?.stringValue == "client-model")
        #expect(out["choices"]?[0]?["message"] == json(#"{"role":"assistant","content":"Hello there","reasoning_content":"Let me think."}"#))
        #expect(out["choices"]?[0]?["finish_reason"]?.stringValue == "stop")
        #expect(out["usage"] == json("""
        {"prompt_tokens":100,"completion_tokens":50,"total_tokens":150,"prompt_tokens_details":{"cached_tokens":40},
         "completion_tokens_details":{"reasoning_tokens":30}}
        """))
        #expect(usage.prompt == 100 && usage.completion == 50 && usage.cacheRead == 40 && usage.reasoning == 30)
    }

    @Test func functionCallsBecomeToolCalls() throws {
        let (out, _) = try convert("""
        {"candidates":[{"content":{"role":"model","parts":[
           {"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"c2ln"},
           {"functionCall":{"id":"fc-9","name":"get_time"}}]},"finishReason":"STOP"}],
         "usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":5}}
        """)
        let message = out["choices"]?[0]?["message"]
        #expect(message?["content"] == .null)
        #expect(message?["tool_calls"] == json("""
        [{"id":"call_0","type":"function","function":{"name":"get_weather","arguments":"{\\"city\\":\\"Paris\\"}"},
          "extra_content":{"google":{"thought_signature":"c2ln"}}},
         {"id":"fc-9","type":"function","function":{"name":"get_time","arguments":"{}"}}]
        """))
        #expect(out["choices"]?[0]?["finish_reason"]?.stringValue == "tool_calls")
    }

    @Test(arguments: [("STOP", "stop"), ("MAX_TOKENS", "length"), ("SAFETY", "content_filter"), ("RECITATION", "content_filter"),
                      ("BLOCKLIST", "content_filter"), ("PROHIBITED_CONTENT", "content_filter"), ("SPII", "content_filter"),
                      ("OTHER", "stop"), ("MALFORMED_FUNCTION_CALL", "stop"), ("FINISH_REASON_UNSPECIFIED", "stop")])
    func finishReasons(gemini: String, openAI: String) throws {
        let (out, _) = try convert(#"{"candidates":[{"content":{"parts":[{"text":"x"}]},"finishReason":"\#(gemini)"}]}"#)
        #expect(out["choices"]?[0]?["finish_reason"]?.stringValue == openAI)
    }

    @Test func aBlockedPromptIsAContentFilterWithNoContent() throws {
        let (out, usage) = try convert(#"{"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[]},"usageMetadata":{"promptTokenCount":7,"totalTokenCount":7}}"#)
        #expect(out["choices"]?[0]?["message"]?["content"]?.stringValue == "")
        #expect(out["choices"]?[0]?["finish_reason"]?.stringValue == "content_filter")
        #expect(usage.prompt == 7 && usage.completion == 0)
    }

    @Test func severalCandidatesAreSeveralChoices() throws {
        let (out, _) = try convert(#"{"candidates":[{"content":{"parts":[{"text":"a"}]},"finishReason":"STOP","index":0},{"content":{"parts":[{"text":"b"}]},"finishReason":"MAX_TOKENS","index":1}]}"#)
        #expect(out["choices"]?[1]?["index"]?.int64Value == 1)
        #expect(out["choices"]?[1]?["message"]?["content"]?.stringValue == "b")
        #expect(out["choices"]?[1]?["finish_reason"]?.stringValue == "length")
    }

    @Test func snakeCaseAnswersAreReadToo() throws {
        let (out, usage) = try convert("""
        {"candidates":[{"content":{"parts":[{"function_call":{"name":"f","args":{}}}]},"finish_reason":"STOP"}],
         "usage_metadata":{"prompt_token_count":9,"cached_content_token_count":4,"candidates_token_count":2,"thoughts_token_count":1},"response_id":"r1"}
        """)
        #expect(out["id"]?.stringValue == "chatcmpl-r1")
        #expect(out["choices"]?[0]?["message"]?["tool_calls"]?[0]?["function"]?["name"]?.stringValue == "f")
        #expect(usage == PluginUsage(prompt: 9, completion: 3, cacheRead: 4, reasoning: 1))
    }

    @Test func audioAndToolUseTokensAreCounted() throws {
        let (_, usage) = try convert("""
        {"candidates":[{"content":{"parts":[{"text":"x"}]},"finishReason":"STOP"}],
         "usageMetadata":{"promptTokenCount":30,"toolUsePromptTokenCount":5,"candidatesTokenCount":2,
           "promptTokensDetails":[{"modality":"TEXT","tokenCount":10},{"modality":"AUDIO","tokenCount":20}]}}
        """)
        #expect(usage.prompt == 35)
        #expect(usage.audioPrompt == 20)
    }

    @Test func malformedAnswersAreUpstreamErrors() {
        for body in ["", "not json", "[1,2]", #"{"candidates":[1]}"#, #"{"error":{"code":500,"message":"boom","status":"INTERNAL"}}"#] {
            do {
                _ = try convert(body)
                Issue.record("accepted \(body)")
            } catch {
                #expect(error.kind == .upstream)
            }
        }
    }

    @Test func googleErrorsBecomeOpenAIErrors() {
        let body = GeminiErrors.openAIBody(status: 429, body: bytes("""
        {"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED","details":[]}}
        """))
        #expect(json(String(decoding: body, as: UTF8.self)) == json("""
        {"error":{"message":"Resource has been exhausted (e.g. check quota).","type":"resource_exhausted","code":"RESOURCE_EXHAUSTED"}}
        """))

        let wrapped = GeminiErrors.openAIBody(status: 400, body: bytes(#"[{"error":{"code":400,"message":"bad","status":"INVALID_ARGUMENT"}}]"#))
        #expect(json(String(decoding: wrapped, as: UTF8.self))["error"]?["type"]?.stringValue == "invalid_argument")

        let html = GeminiErrors.openAIBody(status: 502, body: bytes("<html>Bad Gateway</html>\n"))
        #expect(json(String(decoding: html, as: UTF8.self)) == json(#"{"error":{"message":"Gemini answered HTTP 502: <html>Bad Gateway</html>","type":"upstream_error","code":null}}"#))
    }
}

@Suite struct EmbeddingsTests {
    @Test func requestsOneEmbeddingPerInput() throws {
        let request = try GeminiEmbeddings.fromOpenAI(bytes(#"{"model":"text-embedding-004","input":["a","b"],"dimensions":256}"#), resource: "models/text-embedding-004")
        #expect(json(String(decoding: request.body, as: UTF8.self)) == json("""
        {"requests":[{"model":"models/text-embedding-004","content":{"parts":[{"text":"a"}]},"outputDimensionality":256},
                     {"model":"models/text-embedding-004","content":{"parts":[{"text":"b"}]},"outputDimensionality":256}]}
        """))
        let single = try GeminiEmbeddings.fromOpenAI(bytes(#"{"input":"solo"}"#), resource: "models/m")
        #expect(single.inputs == ["solo"])
    }

    @Test func refusesTokenArraysAndBadInput() {
        for (body, kind) in [(#"{"input":[[1,2]]}"#, PluginError.Kind.unsupported), (#"{"input":[]}"#, .invalidInput), (#"{"input":5}"#, .invalidInput)] {
            do { _ = try GeminiEmbeddings.fromOpenAI(bytes(body), resource: "models/m"); Issue.record("accepted \(body)") }
            catch { #expect(error.kind == kind) }
        }
    }

    @Test func answersAsFloatsOrBase64WithAnEstimatedUsage() throws {
        let answer = bytes(#"{"embeddings":[{"values":[0.5,-1]},{"values":[2,0.25]}]}"#)
        let floats = try GeminiEmbeddings.toOpenAI(answer, model: "emb", requestBody: bytes(#"{"input":["abcd","efgh"]}"#))
        #expect(json(String(decoding: floats.body, as: UTF8.self)) == json("""
        {"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5,-1]},{"object":"embedding","index":1,"embedding":[2,0.25]}],
         "model":"emb","usage":{"prompt_tokens":2,"total_tokens":2}}
        """))
        #expect(floats.usage.prompt == 2 && floats.usage.estimated)

        let encoded = try GeminiEmbeddings.toOpenAI(answer, model: "emb", requestBody: bytes(#"{"input":"x","encoding_format":"base64"}"#))
        // 0.5 = 0x3F000000, -1 = 0xBF800000, little-endian.
        #expect(json(String(decoding: encoded.body, as: UTF8.self))["data"]?[0]?["embedding"]?.stringValue == Base64.encode([0, 0, 0, 0x3F, 0, 0, 0x80, 0xBF]))
        #expect(Base64.encode(Array("foobar".utf8)) == "Zm9vYmFy" && Base64.encode(Array("fo".utf8)) == "Zm8=")

        do { _ = try GeminiEmbeddings.toOpenAI(bytes(#"{"nope":1}"#), model: "emb", requestBody: []); Issue.record("accepted") }
        catch { #expect(error.kind == .upstream) }
    }
}
