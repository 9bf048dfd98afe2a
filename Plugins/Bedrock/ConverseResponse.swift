import TollgatePluginKit

/// Bedrock Converse answer -> OpenAI `chat.completion`.
enum ConverseResponse {
    /// A 2xx Converse body. Throws `.upstream` when it is not a Converse answer.
    static func chatCompletion(_ body: [UInt8], model: String, id: String, created: Int64) throws(PluginError) -> (body: JSONValue, usage: PluginUsage) {
        let json: JSONValue
        do { json = try JSONParser.parse(body) } catch { throw PluginError(.upstream, "the Converse answer is not JSON: \(error)") }
        guard let content = json["output"]?["message"]?["content"]?.arrayValue else {
            throw PluginError(.upstream, "the Converse answer has no output.message.content array")
        }
        var text = ""
        var reasoning = ""
        var calls: [JSONValue] = []
        for block in content {
            if let piece = block["text"]?.stringValue {
                text += piece
            } else if let use = block["toolUse"] {
                guard let toolID = use["toolUseId"]?.stringValue, let name = use["name"]?.stringValue else {
                    throw PluginError(.upstream, "a toolUse block of the Converse answer lacks toolUseId or name")
                }
                let arguments = (use["input"] ?? .object([])).jsonString
                calls.append(.object([
                    "id": .string(toolID), "type": .string("function"),
                    "function": .object(["name": .string(name), "arguments": .string(arguments)]),
                ]))
            } else if let piece = block["reasoningContent"]?["reasoningText"]?["text"]?.stringValue {
                reasoning += piece
            }
            // Other blocks (images, citations, guard content) have no OpenAI counterpart.
        }
        var message: [JSONValue.Member] = [
            .init("role", .string("assistant")),
            .init("content", text.isEmpty && !calls.isEmpty ? .null : .string(text)),
        ]
        if !reasoning.isEmpty { message.append(.init("reasoning_content", .string(reasoning))) }
        if !calls.isEmpty { message.append(.init("tool_calls", .array(calls))) }

        let usage = Self.usage(json["usage"])
        var members: [JSONValue.Member] = [
            .init("id", .string(id)), .init("object", .string("chat.completion")), .init("created", .int(created)),
            .init("model", .string(model)),
            .init("choices", .array([.object([
                "index": .int(0), "message": .object(message),
                "finish_reason": .string(finishReason(json["stopReason"]?.stringValue)), "logprobs": .null,
            ])])),
        ]
        if let usage { members.append(.init("usage", openAIUsage(usage))) }
        return (.object(members), usage ?? PluginUsage())
    }

    /// `stopReason` -> `finish_reason`.
    static func finishReason(_ stopReason: String?) -> String {
        switch stopReason {
        case "max_tokens"?, "model_context_window_exceeded"?: "length"
        case "tool_use"?: "tool_calls"
        case "guardrail_intervened"?, "content_filtered"?: "content_filter"
        default: "stop"  // end_turn, stop_sequence, and anything newer
        }
    }

    /// Converse `usage` in the ABI's convention: Converse's `inputTokens` leaves out the cached
    /// part, so prompt = inputTokens + cacheReadInputTokens + cacheWriteInputTokens.
    static func usage(_ json: JSONValue?) -> PluginUsage? {
        guard let json, case .object = json else { return nil }
        let input = json["inputTokens"]?.int64Value
        let output = json["outputTokens"]?.int64Value
        let cacheRead = json["cacheReadInputTokens"]?.int64Value
        let cacheWrite = json["cacheWriteInputTokens"]?.int64Value
        guard input != nil || output != nil else { return nil }
        var usage = PluginUsage()
        if let input { usage.prompt = input.addingSaturated(cacheRead ?? 0).addingSaturated(cacheWrite ?? 0) }
        usage.completion = output
        usage.cacheRead = cacheRead
        usage.cacheCreation = cacheWrite
        return usage
    }

    /// An OpenAI `usage` object: cache reads as `prompt_tokens_details.cached_tokens`, cache
    /// writes as `cache_creation_input_tokens` (the name LiteLLM and Anthropic use).
    static func openAIUsage(_ usage: PluginUsage) -> JSONValue {
        usage.openAIJSON(OpenAIUsageStyle(promptDetails: .whenReported, completionDetails: .whenReported, cacheWrites: .topLevel))
    }
}

/// AWS JSON error answers -> OpenAI error bodies.
///
/// Bedrock and SageMaker answer errors as `{"message": "..."}` (SageMaker's model errors as
/// `{"ErrorCode","Message",...}`), naming the exception in the `x-amzn-ErrorType` header
/// (`ValidationException:http://internal.amazon.com/...`) or in a `__type` member
/// (`com.amazon.coral.validate#ValidationException`). The client gets
/// `{"error":{"message","type": the exception name,"code": null}}` with the upstream's status.
enum AWSErrorBody {
    static func openAI(status: Int, headers: [(String, String)], body: [UInt8]) -> [UInt8] {
        let json = try? JSONParser.parse(body)
        var message = json?["message"]?.stringValue ?? json?["Message"]?.stringValue
        if message == nil, json == nil {
            let text = String(decoding: body.prefix(2000), as: UTF8.self).trimmingWhitespace
            if !text.isEmpty { message = text }
        }
        let type = exceptionName(headers: headers, json: json) ?? (json?["ErrorCode"]?.stringValue) ?? "upstream_error"
        return JSONValue.object(["error": .object([
            "message": .string(message ?? "upstream error (HTTP \(status))"), "type": .string(type), "code": .null,
        ])]).serialized()
    }

    static func exceptionName(headers: [(String, String)], json: JSONValue?) -> String? {
        if let value = header("x-amzn-errortype", in: headers) {
            let name = value.split(separator: ":", maxSplits: 1).first.map(String.init) ?? value
            if !name.isEmpty { return name }
        }
        if let type = json?["__type"]?.stringValue ?? json?["code"]?.stringValue, !type.isEmpty {
            return type.split(separator: "#").last.map(String.init) ?? type
        }
        return nil
    }
}

extension OpenAIChunkWriter {
    /// Bedrock's chunks: no `logprobs` member (as they have always been written).
    init(id: String, created: Int64, model: String) {
        self.init(id: id, created: created, model: model, writesLogprobs: false)
    }

    /// The final `{"choices":[],"usage":{...}}` chunk of `stream_options.include_usage`.
    func usageChunk(_ usage: PluginUsage) -> [UInt8] { usageChunk(ConverseResponse.openAIUsage(usage)) }
}

extension String {
    var trimmingWhitespace: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }
        return String(drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
