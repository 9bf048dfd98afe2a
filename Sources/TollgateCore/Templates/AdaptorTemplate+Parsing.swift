/// Reading a template file: every field checked, every path and URL compiled, errors naming the
/// field (`auth.style`, `request[1].from`).
extension AdaptorTemplate {
    static let topFields: Set<String> = ["$schema", "provider", "name", "description", "base_url", "api_version", "endpoints",
                                         "auth", "headers", "request", "response", "stream", "embeddings"]
    /// Placeholders an endpoint may use; filled per request or per channel.
    static let endpointPlaceholders: Set<String> = ["model", "deployment", "api_version"]

    public static func parse(_ bytes: [UInt8], source: String) throws(TemplateError) -> AdaptorTemplate {
        let document: JSONValue
        do { document = try JSONParser.parse(bytes) } catch {
            throw TemplateError(source: source, field: "", message: "invalid JSON: \(error)")
        }
        let top = try TemplateField(value: document, field: "", source: source).object(allowed: topFields)
        guard let providerField = top["provider"] else { throw TemplateError(source: source, field: "provider", message: "is required") }
        let provider = try providerField.string()
        guard !provider.isEmpty, provider.allSatisfy({ ($0.isASCII && ($0.isLowercase || $0.isNumber)) || "-_.".contains($0) }) else {
            throw providerField.error("'\(provider)' must be lower-case letters, digits, '-', '_' or '.'")
        }
        guard !PluginLoader.builtInProviders.contains(provider) else { throw providerField.error("'\(provider)' is built into the core") }
        guard let baseField = top["base_url"] else { throw TemplateError(source: source, field: "base_url", message: "is required") }
        let baseURL = try baseField.string()
        guard baseURL.hasPrefix("http://") || baseURL.hasPrefix("https://") else { throw baseField.error("must be an http:// or https:// URL") }
        do { _ = try URLPattern(baseURL) } catch { throw baseField.error(error.message) }

        var template = AdaptorTemplate(
            provider: provider, name: try top["name"]?.string() ?? provider, source: source, baseURL: baseURL,
            apiVersion: try top["api_version"]?.string(), endpoints: [:], auth: Auth(style: .bearer, name: "authorization", prefix: "Bearer ", required: true),
            headers: [], request: [], response: nil, stream: .openAI(includeUsage: true))
        guard let endpoints = top["endpoints"] else { throw TemplateError(source: source, field: "endpoints", message: "is required (at least chat or embeddings)") }
        template.endpoints = try readEndpoints(endpoints)
        if let auth = top["auth"] { template.auth = try readAuth(auth) }
        if let headers = top["headers"] {
            template.headers = try headers.members().map { member throws(TemplateError) in
                guard case .string(let value) = member.value else { throw headers.child(member.key, member.value).error("must be a string") }
                guard !member.key.isEmpty, member.key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_".contains($0)) }) else {
                    throw headers.child(member.key, member.value).error("'\(member.key)' is not a header name")
                }
                return (member.key, value)
            }
        }
        if let request = top["request"] { template.request = try request.items().map(readOp) }
        if let response = top["response"] { template.response = try readResponse(response) }
        if let stream = top["stream"] { template.stream = try readStream(stream) }
        if let embeddings = top["embeddings"] { template.embeddings = try readEmbeddings(embeddings) }
        if case .events = template.stream, template.response == nil {
            throw TemplateError(source: source, field: "response", message: "is required when stream.format is 'events' (a provider with its own stream format has its own answer format)")
        }
        return template
    }

    static func readEndpoints(_ field: TemplateField) throws(TemplateError) -> [Operation: URLPattern] {
        let members = try field.object(allowed: Set(Operation.allCases.map(\.rawValue)))
        var out: [Operation: URLPattern] = [:]
        for operation in Operation.allCases {
            guard let entry = members[operation.rawValue] else { continue }
            let text = try entry.string()
            guard text.hasPrefix("/") else { throw entry.error("must be a path starting with '/', found '\(text)'") }
            let pattern: URLPattern
            do { pattern = try URLPattern(text) } catch { throw entry.error(error.message) }
            if let unknown = pattern.placeholders.first(where: { !endpointPlaceholders.contains($0) }) {
                throw entry.error("unknown placeholder '{\(unknown)}' (allowed: {model}, {deployment}, {api_version})")
            }
            out[operation] = pattern
        }
        guard out[.chat] != nil || out[.embeddings] != nil else { throw field.error("needs chat or embeddings") }
        return out
    }

    static func readAuth(_ field: TemplateField) throws(TemplateError) -> Auth {
        let members = try field.object(allowed: ["style", "name", "prefix", "required"])
        guard let styleField = members["style"] else { throw field.child("style", .null).error("is required (bearer, header, query or none)") }
        let text = try styleField.string()
        guard let style = Auth.Style(rawValue: text) else {
            throw styleField.error("unknown auth style '\(text)' (expected bearer, header, query or none)")
        }
        var auth = Auth(style: style, name: "", prefix: "", required: style != .none)
        switch style {
        case .bearer:
            auth.name = "authorization"
            auth.prefix = "Bearer "
            if members["name"] != nil { throw field.child("name", .null).error("is not used with style 'bearer' (use style 'header')") }
        case .header, .query:
            guard let name = try members["name"]?.string(), !name.isEmpty else {
                throw field.child("name", .null).error("is required with style '\(text)' (the \(style == .header ? "header" : "query parameter") that carries the key)")
            }
            auth.name = style == .header ? name.lowercased() : name
            auth.prefix = try members["prefix"]?.string() ?? ""
        case .none:
            break
        }
        if let required = members["required"] { auth.required = try required.bool() && style != .none }
        return auth
    }

    static func readOp(_ field: TemplateField) throws(TemplateError) -> MappingOp {
        let members = try field.object(allowed: ["op", "from", "to", "path", "value"])
        guard let opField = members["op"] else { throw field.child("op", .null).error("is required (copy, rename, set or delete)") }
        func need(_ key: String) throws(TemplateError) -> TemplateField {
            guard let found = members[key] else { throw field.child(key, .null).error("is required by op '\((try? opField.string()) ?? "")'") }
            return found
        }
        switch try opField.string() {
        case "copy", "rename":
            let fromField = try need("from"), toField = try need("to")
            let from = try fromField.path(), to = try toField.path()
            guard to.wildcardCount == 0 || to.wildcardCount == from.wildcardCount else {
                throw toField.error("has \(to.wildcardCount) [*] but 'from' has \(from.wildcardCount); each [*] in 'to' pairs with one in 'from'")
            }
            return try opField.string() == "copy" ? .copy(from: from, to: to) : .rename(from: from, to: to)
        case "set":
            let path = try need("path").path()
            guard let value = members["value"] else { throw field.child("value", .null).error("is required by op 'set'") }
            return .set(path, value.value)
        case "delete":
            return .delete(try need("path").path())
        case let other:
            throw opField.error("unknown op '\(other)' (expected copy, rename, set or delete)")
        }
    }

    static func readUsage(_ field: TemplateField) throws(TemplateError) -> UsageMapping {
        let members = try field.object(allowed: ["prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens"])
        guard let prompt = members["prompt_tokens"] else { throw field.child("prompt_tokens", .null).error("is required") }
        guard let completion = members["completion_tokens"] else { throw field.child("completion_tokens", .null).error("is required") }
        return UsageMapping(prompt: try prompt.singlePath(), completion: try completion.singlePath(),
                            cached: try members["cached_tokens"]?.singlePath(), reasoning: try members["reasoning_tokens"]?.singlePath())
    }

    static func readResponse(_ field: TemplateField) throws(TemplateError) -> ResponseMapping {
        let members = try field.object(allowed: ["id", "content", "finish_reason", "finish_reasons", "usage", "error_message"])
        guard let content = members["content"] else { throw field.child("content", .null).error("is required (the path to the answer's text)") }
        var finishReasons: [String: String] = [:]
        if let map = members["finish_reasons"] {
            for member in try map.members() {
                guard case .string(let value) = member.value else { throw map.child(member.key, member.value).error("must be a string") }
                finishReasons[member.key] = value
            }
        }
        return ResponseMapping(id: try members["id"]?.singlePath(), content: try content.singlePath(),
                               finishReason: try members["finish_reason"]?.singlePath(), finishReasons: finishReasons,
                               usage: try members["usage"].map(readUsage), errorMessage: try members["error_message"]?.singlePath())
    }

    static func readEmbeddings(_ field: TemplateField) throws(TemplateError) -> EmbeddingsMapping {
        let members = try field.object(allowed: ["request", "vectors", "prompt_tokens", "error_message"])
        guard let vectors = members["vectors"] else { throw field.child("vectors", .null).error("is required (the path to the array of vectors)") }
        return EmbeddingsMapping(request: try members["request"]?.items().map(readOp) ?? [], vectors: try vectors.singlePath(),
                                 promptTokens: try members["prompt_tokens"]?.singlePath(), errorMessage: try members["error_message"]?.singlePath())
    }

    static func readStream(_ field: TemplateField) throws(TemplateError) -> StreamFormat {
        let members = try field.object(allowed: ["format", "include_usage", "event_type", "events"])
        guard let format = members["format"] else { throw field.child("format", .null).error("is required (openai or events)") }
        switch try format.string() {
        case "openai":
            if members["events"] != nil || members["event_type"] != nil { throw field.error("'events' and 'event_type' go with format 'events'") }
            return .openAI(includeUsage: try members["include_usage"]?.bool() ?? true)
        case "events":
            guard let events = members["events"] else { throw field.child("events", .null).error("is required with format 'events'") }
            var rules: [String: EventStreamMapping.Rule] = [:]
            for member in try events.members() {
                let rule = events.child(member.key, member.value)
                let parts = try rule.object(allowed: ["id", "content", "finish_reason", "usage", "error_message"])
                rules[member.key] = EventStreamMapping.Rule(
                    id: try parts["id"]?.singlePath(), content: try parts["content"]?.singlePath(),
                    finishReason: try parts["finish_reason"]?.singlePath(), usage: try parts["usage"].map(readUsage),
                    errorMessage: try parts["error_message"]?.singlePath())
            }
            guard rules.values.contains(where: { $0.content != nil }) else { throw events.error("needs a rule with 'content'") }
            return .events(EventStreamMapping(typePath: try members["event_type"]?.singlePath(), rules: rules))
        case let other:
            throw format.error("unknown stream format '\(other)' (expected openai or events)")
        }
    }
}
