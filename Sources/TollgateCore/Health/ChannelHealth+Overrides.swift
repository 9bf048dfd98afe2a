/// Replacements the deprecation detector applied (or proposes) to a channel: a successor model
/// per upstream model, and an API version. Kept with the channel's health so they survive route reloads.
extension ChannelHealth {
    /// The successor of `model` when a deprecation notice named one.
    func override(for model: String) -> String? {
        guard hasOverridesFlag else { return nil }
        return withState { $0.modelOverrides[model] }
    }

    var apiVersionOverride: String? { withState { $0.apiVersion } }

    var modelOverrides: [String: String] { withState { $0.modelOverrides } }

    /// Keeps a successor for an operator to accept; false when it is already proposed or applied.
    func propose(_ proposal: ChannelOverride) -> Bool {
        withState { state in
            guard state.proposals[proposal.model]?.value != proposal.value, !Self.applied(proposal, in: state) else { return false }
            state.proposals[proposal.model] = proposal
            return true
        }
    }

    /// Takes the proposal for `model` ("" for the API version); with nil, the only one there is.
    func takeProposal(model: String?) -> ChannelOverride? {
        withState { state in
            let key = model ?? (state.proposals.count == 1 ? state.proposals.keys.first : nil)
            return key.flatMap { state.proposals.removeValue(forKey: $0) }
        }
    }

    var proposals: [ChannelOverride] { withState { $0.proposals.values.sorted { $0.model < $1.model } } }

    /// Applies a successor (from the detector or an operator); false when it was in force already.
    func apply(_ override: ChannelOverride) -> Bool {
        let changed = withState { state -> Bool in
            state.proposals.removeValue(forKey: override.model)
            guard !Self.applied(override, in: state) else { return false }
            switch override.kind {
            case .model: state.modelOverrides[override.model] = override.value
            case .apiVersion: state.apiVersion = override.value
            }
            return true
        }
        if changed && override.kind == .model { markOverrides() }
        return changed
    }

    private static func applied(_ override: ChannelOverride, in state: State) -> Bool {
        switch override.kind {
        case .model: state.modelOverrides[override.model] == override.value
        case .apiVersion: state.apiVersion == override.value
        }
    }
}
