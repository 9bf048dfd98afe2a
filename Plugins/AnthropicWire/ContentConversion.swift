import TollgatePluginKit

/// An OpenAI message's `content` (a string or an array of parts) → Anthropic content blocks.
///
/// Empty texts are dropped: Anthropic refuses empty text blocks, and OpenAI clients send `""`
/// beside tool calls. A part's `cache_control` (sent by clients that target Claude through an
/// OpenAI-shaped API) is kept on the block.
enum ContentConversion {
    /// Which parts a role may carry.
    enum Allowed { case textOnly, user, assistant, toolResult }

    static func blocks(_ content: JSONValue?, path: @autoclosure () -> String, allowing allowed: Allowed) throws(PluginError) -> [JSONValue] {
        switch content {
        case nil, .null?: return []
        case .string(let text)?: return text.isEmpty ? [] : [MessageConversion.text(text)]
        case .array(let parts)?:
            var blocks: [JSONValue] = []
            for (index, part) in parts.enumerated() {
                if let block = try block(part, path: "\(path())[\(index)]", allowing: allowed) { blocks.append(block) }
            }
            return blocks
        default:
            throw PluginError(.invalidInput, "\(path()) must be a string or an array of parts")
        }
    }

    private static func block(_ part: JSONValue, path: @autoclosure () -> String, allowing allowed: Allowed) throws(PluginError) -> JSONValue? {
        // A bare string inside the array is read as text (some clients send it).
        if let text = part.stringValue { return text.isEmpty ? nil : MessageConversion.text(text) }
        guard let type = part["type"]?.stringValue else { throw PluginError(.invalidInput, "\(path()).type is required") }
        var block: JSONValue
        switch (type, allowed) {
        case ("text", _):
            guard let text = part["text"]?.stringValue else { throw PluginError(.invalidInput, "\(path()).text must be a string") }
            if text.isEmpty { return nil }
            block = MessageConversion.text(text)
        case ("refusal", .assistant):
            guard let text = part["refusal"]?.stringValue, !text.isEmpty else { return nil }
            block = MessageConversion.text(text)
        case ("image_url", .user), ("image_url", .toolResult):
            let url = part["image_url"]?["url"]?.stringValue ?? part["image_url"]?.stringValue
            guard let url else { throw PluginError(.invalidInput, "\(path()).image_url.url is required") }
            block = .object(["type": .string("image"), "source": try imageSource(url, path: "\(path()).image_url.url")])
        case ("file", .user):
            block = try document(part["file"], path: "\(path()).file")
        case ("image_url", _), ("refusal", _), ("file", _), ("input_audio", _):
            throw PluginError(.unsupported, "\(path()): a '\(type)' part is not supported here by Claude")
        default:
            throw PluginError(.unsupported, "\(path()): content part type '\(type)' is not supported by Claude")
        }
        if let cache = part["cache_control"], !cache.isNull, case .object(var members) = block {
            members.append(.init("cache_control", cache))
            block = .object(members)
        }
        return block
    }

    /// An image URL → an Anthropic image source: `data:` URLs become base64 sources, http(s)
    /// URLs stay URLs (Anthropic fetches them).
    static func imageSource(_ url: String, path: @autoclosure () -> String) throws(PluginError) -> JSONValue {
        if url.hasPrefix("http://") || url.hasPrefix("https://") {
            return .object(["type": .string("url"), "url": .string(url)])
        }
        guard let (mediaType, data) = dataURL(url) else {
            throw PluginError(.invalidInput, "\(path()) must be an http(s) URL or a base64 data: URL")
        }
        return .object(["type": .string("base64"), "media_type": .string(mediaType), "data": .string(data)])
    }

    /// A PDF given as an OpenAI `file` part with `file_data` (a base64 data: URL) → a document block.
    private static func document(_ file: JSONValue?, path: @autoclosure () -> String) throws(PluginError) -> JSONValue {
        guard let data = file?["file_data"]?.stringValue else {
            throw PluginError(.unsupported, "\(path()): only files given inline as file_data are supported by Claude")
        }
        guard let (mediaType, base64) = dataURL(data), mediaType == "application/pdf" else {
            throw PluginError(.unsupported, "\(path()).file_data: Claude takes PDF documents (a data:application/pdf;base64 URL)")
        }
        return .object(["type": .string("document"),
                        "source": .object(["type": .string("base64"), "media_type": .string(mediaType), "data": .string(base64)])])
    }

    /// Splits `data:<media type>[;params];base64,<data>`; nil when it is not a base64 data URL.
    static func dataURL(_ url: String) -> (mediaType: String, data: String)? {
        guard url.hasPrefix("data:"), let comma = url.firstIndex(of: ",") else { return nil }
        let header = url[url.index(url.startIndex, offsetBy: 5)..<comma].split(separator: ";", omittingEmptySubsequences: false)
        guard let mediaType = header.first, !mediaType.isEmpty, header.dropFirst().contains("base64") else { return nil }
        return (String(mediaType), String(url[url.index(after: comma)...]))
    }
}
