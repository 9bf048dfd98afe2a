import PostgresNIO

extension PostgresStorage: ResponseStore {
    public func putResponse(_ stored: StoredResponse) async throws {
        let response = String(decoding: stored.response, as: UTF8.self), conversation = String(decoding: stored.conversation, as: UTF8.self)
        try await client.query("""
            INSERT INTO stored_responses (id, key_name, created_at, expires_at, response, conversation)
            VALUES (\(stored.id), \(stored.keyName), \(stored.createdAt), \(stored.expiresAt), \(response), \(conversation))
            ON CONFLICT (id) DO NOTHING
            """, logger: logger)
    }

    public func storedResponse(id: String, key: String, now: Int64) async throws -> StoredResponse? {
        let rows = try await client.query("""
            SELECT created_at, expires_at, response, conversation FROM stored_responses
            WHERE id = \(id) AND key_name = \(key) AND expires_at > \(now)
            """, logger: logger)
        for try await (created, expires, response, conversation) in rows.decode((Int64, Int64, String, String).self) {
            return StoredResponse(id: id, keyName: key, createdAt: created, expiresAt: expires, response: Array(response.utf8),
                                  conversation: Array(conversation.utf8))
        }
        return nil
    }

    public func deleteResponse(id: String, key: String) async throws -> Bool {
        let rows = try await client.query("DELETE FROM stored_responses WHERE id = \(id) AND key_name = \(key) RETURNING id", logger: logger)
        for try await _ in rows.decode(String.self) { return true }
        return false
    }

    public func purgeResponses(before now: Int64) async throws -> Int {
        var count = 0
        let rows = try await client.query("DELETE FROM stored_responses WHERE expires_at <= \(now) RETURNING id", logger: logger)
        for try await _ in rows.decode(String.self) { count += 1 }
        return count
    }
}
