/// Why a template was refused: the file (or admin source) and the field, as a person would look
/// for it, e.g. `cohere.json: response.usage.prompt_tokens: bad path ...`.
public struct TemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    public var source: String
    /// The field in the template, dotted (`auth.style`, `request[2].from`); empty for the whole file.
    public var field: String
    public var message: String
    public var description: String { field.isEmpty ? "\(source): \(message)" : "\(source): \(field): \(message)" }

    public init(source: String, field: String, message: String) {
        self.source = source
        self.field = field
        self.message = message
    }
}
