import SQLiteNIO

extension SQLiteStorage: ResponseStore {
    public func putResponse(_ stored: StoredResponse) async throws {
        _ = try await run("""
            INSERT INTO stored_responses (id, key_name, created_at, expires_at, response, conversation) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (id) DO NOTHING
            """, [.text(stored.id), .text(stored.keyName), .integer(Int(stored.createdAt)), .integer(Int(stored.expiresAt)),
                  .text(String(decoding: stored.response, as: UTF8.self)), .text(String(decoding: stored.conversation, as: UTF8.self))])
    }

    public func storedResponse(id: String, key: String, now: Int64) async throws -> StoredResponse? {
        guard let row = try await run("""
            SELECT created_at, expires_at, response, conversation FROM stored_responses WHERE id = ? AND key_name = ? AND expires_at > ?
            """, [.text(id), .text(key), .integer(Int(now))]).first else { return nil }
        return StoredResponse(id: id, keyName: key, createdAt: Int64(row.column("created_at")?.integer ?? 0),
                              expiresAt: Int64(row.column("expires_at")?.integer ?? 0),
                              response: Array((row.column("response")?.string ?? "").utf8),
                              conversation: Array((row.column("conversation")?.string ?? "[]").utf8))
    }

    public func deleteResponse(id: String, key: String) async throws -> Bool {
        let rows = try await run("DELETE FROM stored_responses WHERE id = ? AND key_name = ? RETURNING id",
                                 [.text(id), .text(key)])
        return !rows.isEmpty
    }

    public func purgeResponses(before now: Int64) async throws -> Int {
        try await run("DELETE FROM stored_responses WHERE expires_at <= ? RETURNING id", [.integer(Int(now))]).count
    }
}
