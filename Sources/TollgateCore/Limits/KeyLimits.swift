/// A client key's rate limits; nil = unlimited.
public struct KeyLimits: Sendable, Equatable {
    public var rpm: Int?
    public var tpm: Int?
    public var concurrency: Int?

    public init(rpm: Int? = nil, tpm: Int? = nil, concurrency: Int? = nil) {
        self.rpm = rpm
        self.tpm = tpm
        self.concurrency = concurrency
    }

    public var isEmpty: Bool { rpm == nil && tpm == nil && concurrency == nil }
}
