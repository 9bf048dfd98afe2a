import Testing
@testable import TollgateCore

@Suite struct ResponsesDialectTests {
    @Test func convertsInstructionsItemsToolsAndFormats() throws {
        let body = try JSONParser.parse(#"""
        {"model":"m","instructions":"be brief","max_output_tokens":50,"temperature":0.2,"top_p":0.9,
         "parallel_tool_calls":false,"reasoning":{"effort":"low"},"metadata":{"k":"v"},"store":false,"stream":true,
         "text":{"format":{"type":"json_schema","name":"w","schema":{"type":"object"},"strict":true}},
         "tools":[{"type":"function","name":"get_weather","description":"d","parameters":{"type":"object"},"strict":true}],
         "tool_choice":{"type":"function","name":"get_weather"},
         "input":[
          {"role":"developer","content":"sys2"},
          {"type":"message","role":"user","content":[{"type":"input_text","text":"look"},{"type":"input_image","image_url":"data:image/png;base64,AAA","detail":"low"}]},
          {"type":"message","role":"assistant","content":[{"type":"output_text","text":"checking"}]},
          {"type":"function_call","call_id":"c1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"},
          {"type":"function_call","call_id":"c2","name":"get_weather","arguments":"{}"},
          {"type":"reasoning","id":"rs_1","summary":[]},
          {"type":"function_call_output","call_id":"c1","output":"sunny"},
          {"type":"function_call_output","call_id":"c2","output":[{"type":"input_text","text":"rain"}]}]}
        """#)
        let ir = try ResponsesRequest.toIR(body)
        let messages = try #require(ir["messages"]?.arrayValue)
        #expect(messages.count == 6)
        #expect(messages[0] == .object(["role": .string("system"), "content": .string("be brief")]))
        #expect(messages[1] == .object(["role": .string("system"), "content": .string("sys2")]))
        #expect(messages[2]["content"]?[1]?["image_url"] == .object(["url": .string("data:image/png;base64,AAA"), "detail": .string("low")]))
        #expect(messages[3]["content"]?.stringValue == "checking", "function calls join the assistant message before them")
        #expect(messages[3]["tool_calls"]?.arrayValue?.count == 2)
        #expect(messages[3]["tool_calls"]?[0]?["function"]?["arguments"]?.stringValue == #"{"city":"Paris"}"#)
        #expect(messages[4] == .object(["role": .string("tool"), "tool_call_id": .string("c1"), "content": .string("sunny")]))
        #expect(messages[5]["content"]?.stringValue == "rain")
        #expect(ir["max_completion_tokens"]?.int64Value == 50)
        #expect(ir["temperature"] == .number("0.2") && ir["top_p"] == .number("0.9"))
        #expect(ir["parallel_tool_calls"] == .bool(false))
        #expect(ir["reasoning_effort"]?.stringValue == "low")
        #expect(ir["response_format"]?["json_schema"]?["name"]?.stringValue == "w")
        #expect(ir["tools"]?[0]?["function"]?["strict"] == .bool(true))
        #expect(ir["tool_choice"] == .object(["type": .string("function"), "function": .object(["name": .string("get_weather")])]))
        #expect(ir["stream_options"]?["include_usage"] == .bool(true))
        #expect(ir["metadata"] == nil && ir["store"] == nil, "echoed back, not sent upstream")
        let echo = JSONValue.object(ResponsesRequest.echo(body))
        #expect(echo["metadata"] == .object(["k": .string("v")]) && echo["store"] == .bool(false))
        #expect(echo["truncation"]?.stringValue == "disabled")
    }

    @Test func aStringInputIsOneUserMessage() throws {
        let ir = try ResponsesRequest.toIR(try JSONParser.parse(#"{"model":"m","input":"hi","text":{"format":{"type":"json_object"}}}"#))
        #expect(ir["messages"] == .array([.object(["role": .string("user"), "content": .string("hi")])]))
        #expect(ir["response_format"] == .object(["type": .string("json_object")]))
        #expect(ir["stream"] == nil)
    }

    @Test func refusesMalformedRequestsNamingTheField() throws {
        let cases: [(String, String)] = [
            (#"[1]"#, "JSON object"),
            (#"{"input":"x"}"#, "'model'"),
            (#"{"model":"m"}"#, "'input'"),
            (#"{"model":"m","input":7}"#, "'input'"),
            (#"{"model":"m","input":[{"type":"message","role":"tool","content":"x"}]}"#, "'input[0].role'"),
            (#"{"model":"m","input":[{"role":"user","content":[{"type":"input_file","file_id":"f"}]}]}"#, "'input[0].content[0]'"),
            (#"{"model":"m","input":[{"role":"user","content":[{"type":"input_image","file_id":"f"}]}]}"#, "'input[0].content[0]'"),
            (#"{"model":"m","input":[{"type":"function_call","name":"f"}]}"#, "'input[0]'"),
            (#"{"model":"m","input":[{"type":"function_call_output","call_id":"c"}]}"#, "'input[0]'"),
            (#"{"model":"m","input":[{"type":"item_reference","id":"x"}]}"#, "'input[0]'"),
            (#"{"model":"m","input":"x","tools":[{"type":"web_search"}]}"#, "'tools[0].type'"),
            (#"{"model":"m","input":"x","tools":{}}"#, "'tools'"),
            (#"{"model":"m","input":"x","tool_choice":"sometimes"}"#, "'tool_choice'"),
            (#"{"model":"m","input":"x","max_output_tokens":"many"}"#, "'max_output_tokens'"),
            (#"{"model":"m","input":"x","temperature":"hot"}"#, "'temperature'"),
            (#"{"model":"m","input":"x","text":{"format":{"type":"yaml"}}}"#, "'text.format.type'"),
            (#"{"model":"m","input":"x","text":{"format":{"type":"json_schema"}}}"#, "'text.format'"),
            (#"{"model":"m","input":"x","stream":"yes"}"#, "'stream'"),
        ]
        for (text, field) in cases {
            do {
                _ = try ResponsesRequest.toIR(try JSONParser.parse(text))
                Issue.record("accepted \(text)")
            } catch let error as GatewayError {
                #expect(error.status == 400, "\(text)")
                #expect(error.message.contains(field), "\(text): \(error.message)")
            }
        }
    }

    @Test func translatesACompleteAnswerWithUsageAndTheRequestEchoed() throws {
        let echo = ResponsesRequest.echo(try JSONParser.parse(#"{"model":"m","input":"x","metadata":{"a":"b"},"instructions":"i"}"#))
        let translator = ResponsesTranslator(model: "claude-x", echo: echo)
        let answer = #"{"id":"c1","choices":[{"message":{"content":"hi","tool_calls":[{"id":"call_9","function":{"name":"f","arguments":"{\"a\":2}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":100,"completion_tokens":7,"prompt_tokens_details":{"cached_tokens":40},"completion_tokens_details":{"reasoning_tokens":3}}}"#
        let response = try JSONParser.parse(translator.complete(status: 200, body: Array(answer.utf8)))
        #expect(response["object"]?.stringValue == "response" && response["status"]?.stringValue == "completed")
        #expect(response["id"]?.stringValue == translator.responseID && translator.responseID.hasPrefix("resp_"))
        #expect(response["output"]?[0]?["content"]?[0]?["text"]?.stringValue == "hi")
        #expect(response["output"]?[1]?["type"]?.stringValue == "function_call")
        #expect(response["output"]?[1]?["call_id"]?.stringValue == "call_9")
        #expect(response["output"]?[1]?["arguments"]?.stringValue == #"{"a":2}"#)
        #expect(response["usage"] == (try JSONParser.parse(
            #"{"input_tokens":100,"input_tokens_details":{"cached_tokens":40},"output_tokens":7,"output_tokens_details":{"reasoning_tokens":3},"total_tokens":107}"#)))
        #expect(response["metadata"] == .object(["a": .string("b")]) && response["instructions"]?.stringValue == "i")

        let cut = try JSONParser.parse(translator.complete(status: 200, body: Array(#"{"choices":[{"message":{"content":"a"},"finish_reason":"length"}]}"#.utf8)))
        #expect(cut["status"]?.stringValue == "incomplete")
        #expect(cut["incomplete_details"]?["reason"]?.stringValue == "max_output_tokens")

        let error = try JSONParser.parse(translator.complete(status: 429, body: Array(#"{"error":{"message":"slow down","type":"rate_limit_error"}}"#.utf8)))
        #expect(error["error"]?["message"]?.stringValue == "slow down")
        let garbage = try JSONParser.parse(translator.complete(status: 200, body: Array("<html>".utf8)))
        #expect(garbage["error"]?["message"]?.stringValue == "upstream answer is not JSON")
    }

    static func translate(_ text: String, chunk: Int) -> String {
        let translator = ResponsesTranslator(model: "m", echo: [], responseID: "resp_1", createdAt: 1)
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        for start in stride(from: 0, to: bytes.count, by: chunk) {
            out += Array(bytes[start..<min(bytes.count, start + chunk)]).withUnsafeBytes { translator.streamChunk($0) }
        }
        return String(decoding: out + translator.streamEnd(), as: UTF8.self)
    }

    static func eventNames(_ stream: String) -> [String] {
        stream.split(separator: "\n").filter { $0.hasPrefix("event: ") }.map { String($0.dropFirst(7)) }
    }

    /// The data of every event, parsed.
    static func events(_ stream: String) throws -> [JSONValue] {
        try stream.split(separator: "\n").filter { $0.hasPrefix("data: ") }.map { try JSONParser.parse(Array($0.dropFirst(6).utf8)) }
    }

    @Test func translatesAStreamIntoOpenAIsEventSequenceWhateverTheSplit() throws {
        let whole = Self.translate(AnthropicDialectTests.stream, chunk: 100_000)
        #expect(Self.eventNames(whole) == [
            "response.created", "response.in_progress",
            "response.output_item.added", "response.content_part.added", "response.output_text.delta", "response.output_text.delta",
            "response.output_text.done", "response.content_part.done", "response.output_item.done",
            "response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.delta",
            "response.function_call_arguments.done", "response.output_item.done", "response.completed",
        ])
        let events = try Self.events(whole)
        #expect(events.enumerated().allSatisfy { $0.element["sequence_number"]?.int64Value == Int64($0.offset) })
        #expect(events[6]["text"]?.stringValue == "Hello")
        #expect(events[12]["arguments"]?.stringValue == #"{"a":1}"#)
        let final = try #require(events.last?["response"])
        #expect(final["status"]?.stringValue == "completed")
        #expect(final["output"]?[1]?["call_id"]?.stringValue == "k")
        #expect(final["usage"]?["input_tokens"]?.int64Value == 5 && final["usage"]?["output_tokens"]?.int64Value == 3)
        for size in [1, 2, 7, 13] {
            // Item ids are random: compare the event names and the final text and arguments.
            let split = Self.translate(AnthropicDialectTests.stream, chunk: size)
            #expect(Self.eventNames(split) == Self.eventNames(whole), "split every \(size)")
            #expect(try Self.events(split).last?["response"]?["output"]?[1]?["arguments"] == final["output"]?[1]?["arguments"])
        }
    }

    @Test func aStreamEndingWithoutDoneIsFinishedAnyway() throws {
        let finished = "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: {\"choices\":[{\"delta\":{},\"finish_reason\":\"length\"}]}\n\n"
        let names = Self.eventNames(Self.translate(finished, chunk: 5))
        #expect(names.last == "response.incomplete")
        #expect(names.contains("response.output_item.done"))
        let cut = Self.translate("data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n", chunk: 5)
        #expect(Self.eventNames(cut).last == "response.failed")
        #expect(try Self.events(cut).last?["response"]?["error"]?["code"]?.stringValue == "upstream_stream_truncated")
        #expect(Self.translate("", chunk: 1).isEmpty, "a translator used for a complete answer adds nothing at the end")
    }

    @Test func anUpstreamErrorEventFailsTheResponseOnce() throws {
        let out = Self.translate("data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: {\"error\":{\"message\":\"boom\",\"code\":\"x\"}}\n\ndata: [DONE]\n\n", chunk: 9)
        #expect(Self.eventNames(out).filter { $0 == "response.failed" }.count == 1)
        #expect(Self.eventNames(out).last == "response.failed")
        #expect(try Self.events(out).last?["response"]?["error"]?["message"]?.stringValue == "boom")
    }
}

@Suite struct ResponsesGatewayTests {
    @Test func mockChannelServesResponsesCompleteAndStreamed() async throws {
        let harness = try await GatewayHarness.start("""
        channels:
          - { name: m, provider: mock, models: [mock-echo] }
        """)
        defer { Task { await harness.stop() } }
        let answer = try await harness.chat(#"{"model":"mock-echo","input":"hello there","metadata":{"t":"1"}}"#, path: "/v1/responses")
        #expect(answer.status == 200)
        let json = try #require(answer.json)
        #expect(json["output"]?[0]?["content"]?[0]?["text"]?.stringValue == "echo: hello there")
        #expect(json["usage"]?["input_tokens"]?.int64Value == 2 && json["usage"]?["output_tokens"]?.int64Value == 3)
        #expect(json["metadata"]?["t"]?.stringValue == "1")
        let record = try #require(await harness.records.waitFor(answer.header("x-request-id")))
        #expect(record.dialect == "responses" && record.route == "responses")
        #expect(record.usage.prompt == 2 && record.usage.completion == 3)

        let stream = try await harness.chat(#"{"model":"mock-echo","input":"hi","stream":true}"#, path: "/v1/responses")
        #expect(stream.header("content-type")?.hasPrefix("text/event-stream") == true)
        let names = ResponsesDialectTests.eventNames(stream.text)
        #expect(names.first == "response.created" && names.last == "response.completed")
        let final = try #require(try ResponsesDialectTests.events(stream.text).last?["response"])
        #expect(final["output"]?[0]?["content"]?[0]?["text"]?.stringValue == "echo: hi")
        #expect(final["usage"]?["total_tokens"]?.int64Value == 3)

        let bad = try await harness.chat(#"{"model":"mock-echo","input":[{"type":"mystery"}]}"#, path: "/v1/responses")
        #expect(bad.status == 400)
        #expect(bad.json?["error"]?["message"]?.stringValue?.contains("input[0]") == true)
        let notJSON = try await harness.chat(#"{"model":"mock-echo","#, path: "/v1/responses")
        #expect(notJSON.status == 400 && notJSON.json?["error"]?["code"]?.stringValue == "invalid_json")
    }

    /// An `openai` channel gets the request byte for byte at its own /responses and is metered
    /// from the usage in its answer; `options.responses: chat` converts instead.
    @Test func openAIChannelsPassResponsesThroughUnlessToldToConvert() async throws {
        let completed = #"{"type":"response.completed","sequence_number":3,"response":{"id":"resp_up","object":"response","status":"completed","output":[],"usage":{"input_tokens":12,"input_tokens_details":{"cached_tokens":4},"output_tokens":6,"output_tokens_details":{"reasoning_tokens":2},"total_tokens":18}}}"#
        let upstream = try await MockUpstream { request, respond in
            if request.uri.hasSuffix("/chat/completions") {
                respond.json(200, #"{"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"from chat"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2}}"#)
            } else if request.json?["stream"]?.boolValue == true {
                respond.head(200, [("content-type", "text/event-stream")])
                respond.chunk("event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"usage\":null}}\n\n")
                respond.chunk("event: response.completed\ndata: \(completed)\n\n")
                respond.end()
            } else {
                respond.json(200, #"{"id":"resp_up","object":"response","status":"completed","output":[],"usage":{"input_tokens":12,"input_tokens_details":{"cached_tokens":4},"output_tokens":6,"total_tokens":18}}"#)
            }
        }
        let harness = try await GatewayHarness.start("""
        channels:
          - { name: own, provider: openai, base_url: "\(upstream.baseURL)/v1", models: [gpt-own] }
          - { name: compat, provider: openai, base_url: "\(upstream.baseURL)/v1", models: [gpt-compat], options: { responses: chat } }
        """)
        defer { Task { await harness.stop(); await upstream.stop() } }
        let body = #"{"model":"gpt-own", "input":"hi","metadata":{"x":"y"}}"#
        let answer = try await harness.chat(body, path: "/v1/responses")
        #expect(answer.status == 200 && answer.json?["id"]?.stringValue == "resp_up")
        #expect(upstream.requests.last?.uri == "/v1/responses")
        #expect(upstream.requests.last?.body == Array(body.utf8), "byte for byte")
        var record = try #require(await harness.records.waitFor(answer.header("x-request-id")))
        #expect(record.usage.prompt == 12 && record.usage.cacheRead == 4 && record.usage.completion == 6)

        let stream = try await harness.chat(#"{"model":"gpt-own","input":"hi","stream":true}"#, path: "/v1/responses")
        #expect(stream.text.hasSuffix("data: \(completed)\n\n"), "the stream passes untouched")
        record = try #require(await harness.records.waitFor(stream.header("x-request-id")))
        #expect(record.usage.prompt == 12 && record.usage.reasoning == 2 && record.usage.completion == 6)

        let converted = try await harness.chat(#"{"model":"gpt-compat","input":"hi"}"#, path: "/v1/responses")
        #expect(upstream.requests.last?.uri == "/v1/chat/completions")
        #expect(converted.json?["object"]?.stringValue == "response")
        #expect(converted.json?["output"]?[0]?["content"]?[0]?["text"]?.stringValue == "from chat")
    }
}

@Suite struct StoredResponsesTests {
    @Test(arguments: TestDatabases.backends) func storageKeepsAResponseForItsKeyUntilItExpires(backend: String) async throws {
        let storage = try await StorageTests.open(backend)
        defer { Task { try? await storage.close() } }
        let store = try #require(storage as? any ResponseStore)
        let stored = StoredResponse(id: "resp_a", keyName: "k1", createdAt: 100, expiresAt: 200, response: Array(#"{"id":"resp_a"}"#.utf8),
                                    conversation: Array(#"[{"role":"user","content":"hi"}]"#.utf8))
        try await store.putResponse(stored)
        try await store.putResponse(StoredResponse(id: "resp_b", keyName: "k1", createdAt: 100, expiresAt: 150, response: [], conversation: []))
        #expect(try await store.storedResponse(id: "resp_a", key: "k1", now: 199) == stored)
        #expect(try await store.storedResponse(id: "resp_a", key: "k2", now: 199) == nil, "another key sees nothing")
        #expect(try await store.storedResponse(id: "resp_a", key: "k1", now: 200) == nil, "expired")
        #expect(try await store.deleteResponse(id: "resp_a", key: "k2") == false)
        #expect(try await store.purgeResponses(before: 160) == 1)
        #expect(try await store.deleteResponse(id: "resp_a", key: "k1") == true)
        #expect(try await store.deleteResponse(id: "resp_a", key: "k1") == false)
    }

    @Test func retentionIsConfiguredInDays() throws {
        let config = try ConfigLoader.parse("responses: { retention: 7d }", file: "t.yaml")
        #expect(config.responsesRetention == .seconds(7 * 86_400))
        #expect(GatewayConfig().responsesRetention == .seconds(30 * 86_400))
        #expect(throws: ConfigError.self) { try ConfigLoader.parse("responses: { retention: forever }", file: "t.yaml") }
        #expect(throws: ConfigError.self) { try ConfigLoader.parse("responses: { keep: 1d }", file: "t.yaml") }
    }

    /// A converted answer is stored for its key: GET finds it, another key gets 404, the next turn
    /// continues it with `previous_response_id` (the upstream sees the whole conversation), DELETE
    /// removes it, and `store: false` keeps nothing.
    @Test func conversationsContinueAndStayWithTheirKey() async throws {
        let upstream = try await MockUpstream { request, respond in
            let turns = request.json?["messages"]?.arrayValue?.count ?? 0
            respond.json(200, #"{"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"turns \#(turns)"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2}}"#)
        }
        let other = "sk-test-other-key-456"
        let harness = try await GatewayHarness.start("""
        channels:
          - { name: compat, provider: openai, base_url: "\(upstream.baseURL)/v1", models: [gpt-compat], options: { responses: chat } }
        """, extraKeys: "  - { name: other, key: \(other) }")
        defer { Task { await harness.stop(); await upstream.stop() } }
        let first = try #require(try await harness.chat(#"{"model":"gpt-compat","input":"one","instructions":"sys"}"#, path: "/v1/responses").json)
        let id = try #require(first["id"]?.stringValue)
        #expect(first["output"]?[0]?["content"]?[0]?["text"]?.stringValue == "turns 2")

        let fetched = try await harness.client.fetch(port: harness.port, method: "GET", path: "/v1/responses/\(id)",
                                                     headers: [("authorization", "Bearer \(GatewayHarness.clientKey)")])
        #expect(fetched.status == 200 && fetched.json == first)
        let stranger = try await harness.client.fetch(port: harness.port, method: "GET", path: "/v1/responses/\(id)",
                                                      headers: [("authorization", "Bearer \(other)")])
        #expect(stranger.status == 404 && stranger.json?["error"]?["code"]?.stringValue == "response_not_found")
        let strangerContinues = try await harness.client.fetch(port: harness.port, path: "/v1/responses", key: other,
                                                               json: #"{"model":"gpt-compat","input":"x","previous_response_id":"\#(id)"}"#)
        #expect(strangerContinues.status == 404)
        #expect(strangerContinues.json?["error"]?["code"]?.stringValue == "previous_response_not_found")

        let second = try await harness.chat(#"{"model":"gpt-compat","input":"two","previous_response_id":"\#(id)","store":false}"#,
                                            path: "/v1/responses")
        let messages = try #require(upstream.requests.last?.json?["messages"]?.arrayValue)
        #expect(messages.map { $0["content"]?.stringValue ?? "" } == ["one", "turns 2", "two"], "instructions are not carried over")
        #expect(second.json?["previous_response_id"]?.stringValue == id)
        let secondID = try #require(second.json?["id"]?.stringValue)
        let unstored = try await harness.client.fetch(port: harness.port, method: "GET", path: "/v1/responses/\(secondID)",
                                                      headers: [("authorization", "Bearer \(GatewayHarness.clientKey)")])
        #expect(unstored.status == 404, "store: false keeps nothing")

        let deleted = try await harness.client.fetch(port: harness.port, method: "DELETE", path: "/v1/responses/\(id)",
                                                     headers: [("authorization", "Bearer \(GatewayHarness.clientKey)")])
        #expect(deleted.status == 200 && deleted.json?["deleted"] == .bool(true))
        let gone = try await harness.client.fetch(port: harness.port, method: "GET", path: "/v1/responses/\(id)",
                                                  headers: [("authorization", "Bearer \(GatewayHarness.clientKey)")])
        #expect(gone.status == 404)
        let unauthenticated = try await harness.client.fetch(port: harness.port, method: "GET", path: "/v1/responses/\(id)")
        #expect(unauthenticated.status == 401)
    }
}
