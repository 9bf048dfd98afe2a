import TollgatePluginKit

/// OpenAI content parts -> Gemini `parts`.
enum GeminiParts {
    /// The parts of a user or assistant message's `content` (a string or an array of parts).
    /// Empty text is dropped: Gemini refuses a request with an empty text part.
    static func parts(of content: JSONValue?, role: String) throws(PluginError) -> [JSONValue] {
        switch content {
        case nil, .null?: return []
        case .string(let text)?: return text.isEmpty ? [] : [textPart(text)]
        case .array(let items)?:
            var parts: [JSONValue] = []
            for item in items { if let converted = try part(item, role: role) { parts.append(converted) } }
            return parts
        default: throw PluginError(.invalidInput, "\(role) message content must be a string or an array of parts")
        }
    }

    static func textPart(_ text: String) -> JSONValue { .object(["text": .string(text)]) }

    private static func part(_ item: JSONValue, role: String) throws(PluginError) -> JSONValue? {
        guard let type = item["type"]?.stringValue else {
            throw PluginError(.invalidInput, "\(role) message content part has no \"type\"")
        }
        switch type {
        case "text", "input_text":
            guard let text = item["text"]?.stringValue else { throw PluginError(.invalidInput, "text part has no \"text\" string") }
            return text.isEmpty ? nil : textPart(text)
        case "refusal":
            return (item["refusal"]?.stringValue).flatMap { $0.isEmpty ? nil : textPart($0) }
        case "image_url":
            guard let url = item["image_url"]?["url"]?.stringValue ?? item["image_url"]?.stringValue else {
                throw PluginError(.invalidInput, "image_url part has no \"image_url.url\"")
            }
            return try media(url: url, defaultMimeType: "image/jpeg")
        case "input_audio":
            guard let data = item["input_audio"]?["data"]?.stringValue else {
                throw PluginError(.invalidInput, "input_audio part has no \"input_audio.data\"")
            }
            let format = item["input_audio"]?["format"]?.stringValue ?? "wav"
            return inlineData(mimeType: "audio/\(format == "mp3" ? "mp3" : format)", data: data)
        case "file":
            let file = item["file"]
            if let data = file?["file_data"]?.stringValue {
                if data.hasPrefix("data:") { return try media(url: data, defaultMimeType: "application/pdf") }
                let name = file?["filename"]?.stringValue ?? ""
                return inlineData(mimeType: MediaTypes.guess(path: name, default: "application/pdf"), data: data)
            }
            if let id = file?["file_id"]?.stringValue {
                // A Gemini File API name or URI (`files/abc`, `https://generativelanguage.../files/abc`).
                return .object(["fileData": .object(["mimeType": .string(MediaTypes.guess(path: file?["filename"]?.stringValue ?? id, default: "application/pdf")),
                                                    "fileUri": .string(id)])])
            }
            throw PluginError(.invalidInput, "file part has neither \"file.file_data\" nor \"file.file_id\"")
        default:
            throw PluginError(.unsupported, "content part type \"\(type)\" is not supported by Gemini")
        }
    }

    /// A `data:` URL becomes `inlineData`; an http(s) or gs:// URL becomes `fileData` with a media
    /// type guessed from its extension.
    static func media(url: String, defaultMimeType: String) throws(PluginError) -> JSONValue {
        if url.hasPrefix("data:") {
            guard let comma = url.firstIndex(of: ",") else { throw PluginError(.invalidInput, "data URL has no \",\"") }
            let header = url[url.index(url.startIndex, offsetBy: 5)..<comma]
            guard header.hasSuffix(";base64") else { throw PluginError(.invalidInput, "data URL must be base64-encoded") }
            var mime = String(header.dropLast(7))
            if let semicolon = mime.firstIndex(of: ";") { mime = String(mime[..<semicolon]) }
            return inlineData(mimeType: mime.isEmpty ? defaultMimeType : mime, data: String(url[url.index(after: comma)...]))
        }
        guard url.hasPrefix("https://") || url.hasPrefix("http://") || url.hasPrefix("gs://") else {
            throw PluginError(.invalidInput, "image URL must be a data:, http(s):// or gs:// URL")
        }
        return .object(["fileData": .object(["mimeType": .string(MediaTypes.guess(path: url, default: defaultMimeType)), "fileUri": .string(url)])])
    }

    static func inlineData(mimeType: String, data: String) -> JSONValue {
        .object(["inlineData": .object(["mimeType": .string(mimeType), "data": .string(data)])])
    }
}

/// Media types from file extensions, for URLs Gemini is asked to fetch (it needs a `mimeType`).
enum MediaTypes {
    static let byExtension: [String: String] = [
        "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp",
        "heic": "image/heic", "heif": "image/heif", "bmp": "image/bmp",
        "pdf": "application/pdf", "txt": "text/plain", "md": "text/markdown", "csv": "text/csv", "html": "text/html",
        "mp3": "audio/mp3", "wav": "audio/wav", "ogg": "audio/ogg", "flac": "audio/flac", "aac": "audio/aac",
        "mp4": "video/mp4", "mov": "video/mov", "webm": "video/webm",
    ]

    /// The type of the last path segment's extension (query and fragment ignored), else `fallback`.
    static func guess(path: String, default fallback: String) -> String {
        var path = Substring(path)
        if let end = path.firstIndex(where: { $0 == "?" || $0 == "#" }) { path = path[..<end] }
        let name = path.split(separator: "/").last ?? ""
        guard let dot = name.lastIndex(of: ".") else { return fallback }
        return byExtension[name[name.index(after: dot)...].lowercased()] ?? fallback
    }
}
