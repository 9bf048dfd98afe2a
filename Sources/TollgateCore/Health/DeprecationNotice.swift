/// Recognises an upstream in OpenAI's or Azure's shape telling that the channel's own model or API
/// version is gone, and the successor it names (plugins read their providers' shapes with
/// `on_classify_response`). Only signals a client cannot write count: the structured code for a
/// retired model or version (an upstream may echo any client text in its message, as OpenAI does
/// with unknown argument names), and a message that names the channel's own upstream model (or
/// API version). The wording and the successor are read from the message only once those hold.
struct DeprecationNotice: Sendable, Equatable {
    typealias Replacement = RetirementText.Replacement

    var message: String
    var replacement: Replacement?

    /// OpenAI's and Azure's `code` for a model that is not there (any more).
    static let retiredModelCodes: Set<String> = ["model_not_found", "deprecated", "model_deprecated", "DeploymentNotFound"]
    /// Azure OpenAI's code for a retired `api-version`.
    static let retiredVersionCodes: Set<String> = ["DeprecatedApiVersion", "ApiVersionDeprecated"]

    /// A retirement of `model` (the channel's upstream name) or of `apiVersion` (the one the
    /// channel sends), from an error answer; nil for anything a client could have written.
    static func detect(_ error: UpstreamErrorInfo, status: Int, model: String, apiVersion: String?) -> DeprecationNotice? {
        guard [400, 404, 410].contains(status) else { return nil }
        if let code = error.code ?? error.type, retiredVersionCodes.contains(code) {
            guard let apiVersion, names(apiVersion, in: error.message), let notice = read(error.message),
                  case .apiVersion? = notice.replacement else { return nil }
            return notice
        }
        guard error.code.map(retiredModelCodes.contains) == true, names(model, in: error.message),
              var notice = read(error.message) else { return nil }
        if case .apiVersion? = notice.replacement { notice.replacement = nil }  // a model's notice cannot move the version
        if notice.replacement == .model(model) { notice.replacement = nil }
        return notice
    }

    static func names(_ name: String, in text: String) -> Bool { RetirementText.names(name, in: text) }

    /// The wording of a retirement and the successor it names, from a message already known to
    /// be the provider's own.
    static func read(_ message: String) -> DeprecationNotice? {
        guard RetirementText.announcesRetirement(message) else { return nil }
        return DeprecationNotice(message: message, replacement: RetirementText.replacement(in: message))
    }
}
