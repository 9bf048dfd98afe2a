/// How a provider's own SSE stream maps to OpenAI chunks: each event's type (its `event:` name,
/// or a field of its data) selects a rule; events without a rule are skipped.
public struct EventStreamMapping: Sendable, Equatable {
    /// What each kind of event carries. Every path given must exist in events of that type.
    public struct Rule: Sendable, Equatable {
        public var id: JSONPath?
        public var content: JSONPath?
        public var finishReason: JSONPath?
        public var usage: UsageMapping?
        /// The event reports a failure; its message ends the stream with an error event.
        public var errorMessage: JSONPath?
    }

    /// Where in an event's data its type is; nil = the SSE `event:` name.
    public var typePath: JSONPath?
    public var rules: [String: Rule]
}
