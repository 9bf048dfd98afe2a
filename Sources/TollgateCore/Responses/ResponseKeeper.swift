import Logging
import Synchronization

/// Keeps converted Responses answers in storage (`store`, the default) and finds them again for
/// `previous_response_id` and `GET`/`DELETE /v1/responses/{id}`.
///
/// A save is written in the background, off the request path; until it is written it is held
/// here, so a client continuing at once on this instance finds it. Expired ones are purged at
/// most once an hour, by the save that notices.
public final class ResponseKeeper: Sendable {
    let store: any ResponseStore
    /// How long a stored response is kept, in seconds.
    let retentionSeconds: Int64
    private let logger: Logger
    private let pending = Mutex<[String: StoredResponse]>([:])
    private let lastPurge = Mutex<Int64>(0)

    public init(store: any ResponseStore, retention: Duration, logger: Logger) {
        self.store = store
        retentionSeconds = max(1, retention.components.seconds)
        self.logger = logger
    }

    /// Stores a finished response of `key`; `conversation` holds its turn's messages after the earlier ones.
    func save(id: String, key: String, response: JSONValue, conversation: [JSONValue], now: Int64 = unixSeconds()) {
        let stored = StoredResponse(id: id, keyName: key, createdAt: now, expiresAt: now + retentionSeconds,
                                    response: response.serialized(), conversation: JSONValue.array(conversation).serialized())
        pending.withLock { $0[id] = stored }
        let purge = lastPurge.withLock { last in
            guard now - last >= 3600 else { return false }
            last = now
            return true
        }
        Task { [self] in
            do { try await store.putResponse(stored) } catch {
                logger.error("could not store response \(id): \(error)")
            }
            // Deleted while it was being written: delete the written one too.
            let deleted = pending.withLock { $0.removeValue(forKey: id) == nil }
            if deleted { _ = try? await store.deleteResponse(id: id, key: key) }
            if purge {
                do { _ = try await store.purgeResponses(before: now) } catch { logger.warning("could not purge expired responses: \(error)") }
            }
        }
    }

    /// The response `id` if `key` created it and it has not expired.
    func find(id: String, key: String, now: Int64 = unixSeconds()) async throws -> StoredResponse? {
        if let held = pending.withLock({ $0[id] }) { return held.keyName == key && held.expiresAt > now ? held : nil }
        return try await store.storedResponse(id: id, key: key, now: now)
    }

    func delete(id: String, key: String) async throws -> Bool {
        let held = pending.withLock { pending -> Bool in
            guard pending[id]?.keyName == key else { return false }
            pending[id] = nil
            return true
        }
        // A save still in flight is deleted once written (see `save`).
        let deleted = try await store.deleteResponse(id: id, key: key)
        return deleted || held
    }
}
