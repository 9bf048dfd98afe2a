import TollgatePluginKit

/// The most common request, a plain chat, converted in one pass over its bytes: no tree of the
/// request is built, converted, serialized and freed (a tenth of a converted request's
/// instructions). A plain chat holds only members this reads or `RequestConversion` drops, and
/// every message is a system, developer, user or assistant one whose content is a string or
/// null. Anything else (tools, content parts, JSON mode, thinking, `n`, stop sequences, a
/// repeated member, a name past ASCII, bad JSON) is left to `RequestConversion`, which makes
/// every error: the bytes written here are the bytes it writes (`PlainChatTests` compares them).
struct PlainChat {
    /// A string token of the request: its range in the bytes and whether it holds escapes.
    private typealias Text = (range: Range<Int>, escaped: Bool)
    /// Not a plain chat: `RequestConversion` takes it.
    private struct NotPlain: Error {}

    private var system: [Text] = []
    private var turns: [(role: Role, texts: [Text])] = []
    private var maxCompletionTokens: Int64?
    private var maxTokens: Int64?
    /// `temperature`, `top_p`, `top_k`: each number's literal text.
    private var temperature: String?, topP: String?, topK: String?
    private var user: String?

    /// The Anthropic body of `request` when it is a plain chat, else nil.
    static func anthropicBody(_ request: UnsafeRawBufferPointer, model: String, conversion: RequestConversion, stream: Bool) -> [UInt8]? {
        var chat = PlainChat()
        var parser = JSONParser(request)
        do {
            guard try parser.peek() == UInt8(ascii: "{") else { return nil }
            var seen: UInt8 = 0
            try parser.readObject { name, parser in
                let member = try Member(name)
                guard member != .other else { return try parser.skipValue() }
                guard seen & member.bit == 0 else { throw NotPlain() }  // the tree reads the first: left to it
                seen |= member.bit
                try chat.read(member, &parser)
            }
            try parser.expectEnd()
        } catch {
            return nil
        }
        guard !chat.turns.isEmpty else { return nil }
        return chat.write(model: model, conversion: conversion, stream: stream, source: request)
    }

    private enum Member {
        case messages, maxCompletionTokens, maxTokens, temperature, topP, topK, user, other

        var bit: UInt8 {
            switch self {
            case .messages: 1
            case .maxCompletionTokens: 2
            case .maxTokens: 4
            case .temperature: 8
            case .topP: 16
            case .topK: 32
            case .user: 64
            case .other: 0
            }
        }

        /// Members that change the body only `RequestConversion` converts.
        private static let handedOn: [StaticString] = ["n", "response_format", "tools", "tool_choice", "parallel_tool_calls", "stop",
                                                       "thinking", "reasoning_effort"]

        init(_ name: UnsafeRawBufferPointer) throws {
            // Past ASCII, a name may equal one of these as the tree compares names (canonically).
            guard !name.contains(where: { $0 >= 0x80 }), !Self.handedOn.contains(where: { name.equals($0) }) else { throw NotPlain() }
            self = name.equals("messages") ? .messages : name.equals("max_completion_tokens") ? .maxCompletionTokens
                : name.equals("max_tokens") ? .maxTokens : name.equals("temperature") ? .temperature : name.equals("top_p") ? .topP
                : name.equals("top_k") ? .topK : name.equals("user") ? .user : .other
        }
    }

    private mutating func read(_ member: Member, _ parser: inout JSONParser) throws {
        switch member {
        case .messages:
            guard try parser.peek() == UInt8(ascii: "[") else { throw NotPlain() }
            try parser.readArray { parser in try readMessage(&parser) }
        case .maxCompletionTokens: maxCompletionTokens = try Self.count(try parser.parseValue())
        case .maxTokens: maxTokens = try Self.count(try parser.parseValue())
        case .temperature, .topP, .topK:
            // What is not a number is dropped, as the tree conversion drops it.
            guard case .number(let text) = try parser.parseValue() else { return }
            if member == .temperature { temperature = text } else if member == .topP { topP = text } else { topK = text }
        case .user:
            if let text = try parser.parseValue().stringValue, !text.isEmpty { user = text }
        case .other: try parser.skipValue()
        }
    }

    /// A token count: nil for null; anything but a positive integer is the tree's error to make.
    private static func count(_ value: JSONValue) throws -> Int64? {
        if value.isNull { return nil }
        guard let count = value.int64Value, count > 0 else { throw NotPlain() }
        return count
    }

    /// One message: its role and its content, a string or null; nothing else it holds is read
    /// by the tree conversion for these roles, save what makes it not plain.
    private mutating func readMessage(_ parser: inout JSONParser) throws {
        guard try parser.peek() == UInt8(ascii: "{") else { throw NotPlain() }
        var role: Role?, content: Text?, seen: UInt8 = 0
        try parser.readObject { name, parser in
            guard !name.contains(where: { $0 >= 0x80 }), !name.equals("tool_calls"), !name.equals("thinking_blocks") else { throw NotPlain() }
            let bit: UInt8 = name.equals("role") ? 1 : name.equals("content") ? 2 : 0
            guard bit != 0 else { return try parser.skipValue() }
            guard seen & bit == 0 else { throw NotPlain() }
            seen |= bit
            if bit == 1 {
                guard try parser.peek() == UInt8(ascii: "\"") else { throw NotPlain() }
                let token = try parser.scanString()
                guard !token.escaped else { throw NotPlain() }
                role = try Role(UnsafeRawBufferPointer(rebasing: parser.bytes[token.range]))
            } else if try parser.peek() == UInt8(ascii: "\"") {
                content = try parser.scanString()
            } else {
                guard try parser.parseValue().isNull else { throw NotPlain() }
            }
        }
        guard let role else { throw NotPlain() }
        guard let content, !content.range.isEmpty else { return }  // nothing to say adds nothing
        if role == .system {
            system.append(content)
        } else if let last = turns.indices.last, turns[last].role == role {
            turns[last].texts.append(content)  // consecutive turns of one role are one message
        } else {
            turns.append((role, [content]))
        }
    }

    /// A plain message's role; Anthropic takes system and developer messages as `system`.
    private enum Role {
        case system, user, assistant

        init(_ name: UnsafeRawBufferPointer) throws {
            if name.equals("user") { self = .user } else if name.equals("assistant") { self = .assistant }
            else if name.equals("system") || name.equals("developer") { self = .system } else { throw NotPlain() }
        }
    }

    /// The body, member for member as `RequestConversion.anthropicBody` orders it.
    private func write(model: String, conversion: RequestConversion, stream: Bool, source: UnsafeRawBufferPointer) -> [UInt8] {
        var out = JSONWriter(capacity: source.count + 128)
        out.beginObject()
        if let version = conversion.platformVersion {
            out.key("anthropic_version")
            out.string(version)
        } else {
            out.key("model")
            out.string(model)
        }
        out.key("max_tokens")
        out.int(maxCompletionTokens ?? maxTokens ?? conversion.maxTokensDefault ?? MaxOutputTokens.forModel(model))
        if !system.isEmpty {
            out.key("system")
            write(system, into: &out, source: source)
        }
        out.key("messages")
        out.beginArray()
        for turn in turns {
            out.beginObject()
            out.key("role")
            out.string(turn.role == .user ? "user" : "assistant")
            out.key("content")
            write(turn.texts, into: &out, source: source)
            out.endObject()
        }
        out.endArray()
        if let temperature { out.key("temperature"); out.value(.number(temperature)) }
        if let topP { out.key("top_p"); out.value(.number(topP)) }
        if let topK { out.key("top_k"); out.value(.number(topK)) }
        if let user {
            out.key("metadata")
            out.beginObject()
            out.key("user_id")
            out.string(user)
            out.endObject()
        }
        if stream {
            out.key("stream")
            out.bool(true)
        }
        out.endObject()
        return out.bytes
    }

    /// One text as a string, several as text blocks (as Anthropic takes `system` and `content`).
    private func write(_ texts: [Text], into out: inout JSONWriter, source: UnsafeRawBufferPointer) {
        guard texts.count > 1 else { return out.string(token: texts[0].range, escaped: texts[0].escaped, of: source) }
        out.beginArray()
        for text in texts {
            out.beginObject()
            out.key("type")
            out.string("text")
            out.key("text")
            out.string(token: text.range, escaped: text.escaped, of: source)
            out.endObject()
        }
        out.endArray()
    }
}
