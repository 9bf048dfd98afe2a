/// What became of one template source (a file, or one installed through the API).
public struct TemplateReport: Sendable, Equatable {
    public enum Status: Sendable, Equatable {
        case loaded(provider: String, name: String)
        case refused(reason: String)
    }

    public var source: String
    public var status: Status

    /// One line for `tollgate plugins` and the start-up banner.
    public var line: String {
        switch status {
        case .loaded(let provider, let name): "loaded   \(source): template '\(provider)' (\(name))"
        case .refused(let reason): "refused  \(source): \(reason)"
        }
    }
}
