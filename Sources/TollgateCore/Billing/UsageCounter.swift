import Synchronization

/// One request's token counts while it runs: the stream reader updates it as usage arrives while
/// others (the ledger, metrics, a client hang-up) read it from other threads.
///
/// The record's convention is `TokenUsage`'s: `prompt` includes cache reads and writes (OpenAI's
/// convention), `completion` includes reasoning; adaptors normalise Anthropic's, Gemini's and
/// Bedrock's conventions into it. A later report that lacks a count keeps the earlier value.
public final class UsageCounter: Sendable {
    private let state = Mutex(TokenUsage())

    public init() {}

    /// Merges what the upstream reported so far.
    public func update(_ reported: TokenUsage) {
        state.withLock { $0.merge(reported) }
    }

    /// Replaces the counts (a converter that reports cumulative totals).
    public func set(_ usage: TokenUsage) {
        state.withLock { $0 = usage }
    }

    public var current: TokenUsage { state.withLock { $0 } }
}
