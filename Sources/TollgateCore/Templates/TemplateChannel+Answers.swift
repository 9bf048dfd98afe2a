/// Complete answers of a template whose provider answers in its own format.
extension TemplateChannel {
    struct ConversionError: Error { let message: String }

    /// A successful answer becomes an OpenAI `chat.completion`; an error answer an OpenAI error
    /// with the upstream's status and message. A mapped path missing from a successful answer
    /// throws, naming the path.
    func convertAnswer(status: Int, body: [UInt8], model: String) throws(ConversionError) -> (status: Int, body: [UInt8], usage: TokenUsage) {
        guard let response = template.response else { return (status, body, TokenUsage()) }
        let parsed = try? JSONParser.parse(body)
        guard (200..<300).contains(status) else {
            let message = parsed.flatMap(response.errorMessage(in:))
                ?? "\(template.provider) answered HTTP \(status): \(String(decoding: body.prefix(500), as: UTF8.self))"
            return (status, ErrorBody.openAI(message: message, type: Self.errorType(status), code: nil), TokenUsage())
        }
        guard let parsed else {
            throw ConversionError(message: "template '\(template.provider)': the upstream answer is not JSON")
        }
        do {
            let (completion, usage) = try response.completion(from: parsed, model: model, created: unixSeconds())
            return (status, completion.serialized(), usage)
        } catch {
            throw ConversionError(message: "template '\(template.provider)' (\(template.source)): the upstream answer has \(error)")
        }
    }

    /// An embeddings answer in the provider's format becomes an OpenAI embeddings list (errors as
    /// for `convertAnswer`).
    func convertEmbeddings(status: Int, body: [UInt8], model: String) throws(ConversionError) -> (status: Int, body: [UInt8], usage: TokenUsage) {
        guard let mapping = template.embeddings else { return (status, body, TokenUsage()) }
        let parsed = try? JSONParser.parse(body)
        guard (200..<300).contains(status) else {
            let message = parsed.flatMap { answer in mapping.errorMessage.flatMap { try? $0.value(in: answer).stringValue } }
                ?? "\(template.provider) answered HTTP \(status): \(String(decoding: body.prefix(500), as: UTF8.self))"
            return (status, ErrorBody.openAI(message: message, type: Self.errorType(status), code: nil), TokenUsage())
        }
        guard let parsed else { throw ConversionError(message: "template '\(template.provider)': the upstream answer is not JSON") }
        do {
            let (list, usage) = try mapping.list(from: parsed, model: model)
            return (status, list.serialized(), usage)
        } catch {
            throw ConversionError(message: "template '\(template.provider)' (\(template.source)): the upstream answer has \(error)")
        }
    }

    /// OpenAI's error type for an upstream status.
    static func errorType(_ status: Int) -> String {
        switch status {
        case 400, 404, 409, 413, 422: "invalid_request_error"
        case 401: "authentication_error"
        case 403: "permission_error"
        case 429: "rate_limit_error"
        default: "api_error"
        }
    }
}
