/// A Responses API answer the gateway produced itself (a converted one), kept for
/// `previous_response_id` and `GET`/`DELETE /v1/responses/{id}`. Only the key that created it
/// can read it; it is gone after `responses.retention`.
public struct StoredResponse: Sendable, Equatable {
    public var id: String
    public var keyName: String
    /// Unix seconds.
    public var createdAt: Int64
    public var expiresAt: Int64
    /// The Response object as the client got it (JSON).
    public var response: [UInt8]
    /// The conversation up to and including this answer, as internal (chat) messages (a JSON
    /// array), for the next turn; instructions are not kept (OpenAI does not carry them over).
    public var conversation: [UInt8]

    public init(id: String, keyName: String, createdAt: Int64, expiresAt: Int64, response: [UInt8], conversation: [UInt8]) {
        self.id = id
        self.keyName = keyName
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.response = response
        self.conversation = conversation
    }
}

/// Where stored responses live: both storage backends, so any instance can continue a
/// conversation another instance started.
public protocol ResponseStore: Sendable {
    func putResponse(_ stored: StoredResponse) async throws
    /// Nil when there is none this key may see (another key's, expired, deleted).
    func storedResponse(id: String, key: String, now: Int64) async throws -> StoredResponse?
    /// False when there was none this key may delete.
    func deleteResponse(id: String, key: String) async throws -> Bool
    /// Removes those expired before `now`; returns how many.
    func purgeResponses(before now: Int64) async throws -> Int
}
