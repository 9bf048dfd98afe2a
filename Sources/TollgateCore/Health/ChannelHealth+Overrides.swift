/// Replacements the deprecation detector applied to a channel: a successor model per upstream
/// model, and an API version. Kept with the channel's health so they survive route reloads.
extension ChannelHealth {
    /// The successor of `model` when a deprecation notice named one.
    func override(for model: String) -> String? {
        guard hasOverridesFlag else { return nil }
        return withState { $0.modelOverrides[model] }
    }

    func setOverride(model: String, to replacement: String) {
        withState { $0.modelOverrides[model] = replacement }
        markOverrides()
    }

    var apiVersionOverride: String? {
        get { withState { $0.apiVersion } }
        set { withState { $0.apiVersion = newValue } }
    }

    var modelOverrides: [String: String] { withState { $0.modelOverrides } }
}
