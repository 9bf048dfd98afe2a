import Foundation
import Synchronization
import Testing
@testable import TollgateCore

/// Keys that change (`PATCH /admin/keys/{name}`) and rotate (`POST /admin/keys/{name}/rotate`)
/// through a running gateway: each change holds from the next request on, a rotated-out secret
/// works for its grace and is refused after it, config-file keys are refused with where they live.
@Suite struct KeyChangeTests {
    let keys = KeyAdminTests()

    func admin(_ harness: GatewayHarness, _ method: String, _ path: String, _ body: String = "") async throws -> TestResponse {
        try await keys.admin(harness, method, path, body)
    }

    func chat(_ harness: GatewayHarness, key: String, model: String = "mock-echo") async throws -> TestResponse {
        try await keys.chat(harness, key: key, model: model)
    }

    /// A stored key made through the admin API; its secret.
    func made(_ harness: GatewayHarness, _ body: String) async throws -> String {
        let created = try await admin(harness, "POST", "/admin/keys", body)
        guard created.status == 201, let key = created.json?["key"]?.stringValue else {
            throw KeyIssuer.Failure(status: created.status, message: "not created: \(created.text)")
        }
        return key
    }

    func listed(_ harness: GatewayHarness, _ name: String) async throws -> JSONValue? {
        try await admin(harness, "GET", "/admin/keys").json?["data"]?.arrayValue?.first { $0["name"]?.stringValue == name }
    }

    @Test func anEditedLimitHoldsFromTheNextRequest() async throws {
        let harness = try await KeyAdminTests.harness()
        defer { Task { await harness.stop() } }
        let key = try await made(harness, #"{"name":"team","rpm":100}"#)
        for _ in 0..<2 { #expect(try await chat(harness, key: key).status == 200) }

        let changed = try await admin(harness, "PATCH", "/admin/keys/team", #"{"rpm":2,"tpm":100000}"#)
        #expect(changed.status == 200 && changed.json?["rpm"]?.int64Value == 2 && changed.json?["tpm"]?.int64Value == 100_000)
        let limited = try await chat(harness, key: key)  // the third request this minute (the harness's limiter clock stands still)
        #expect(limited.status == 429 && limited.header("retry-after") != nil)
        #expect(try await chat(harness, key: key).status == 429)

        #expect(try await admin(harness, "PATCH", "/admin/keys/team", #"{"rpm":null}"#).status == 200)
        #expect(try await chat(harness, key: key).status == 200)  // the limit is gone, the minute's count stays
        #expect(try await listed(harness, "team")?["rpm"]?.isNull == true)

        #expect(try await admin(harness, "PATCH", "/admin/keys/team", #"{"models":["other"]}"#).status == 200)
        #expect(try await chat(harness, key: key).status == 403)
        #expect(try await chat(harness, key: key, model: "other").status == 200)
        #expect(try await admin(harness, "PATCH", "/admin/keys/team", #"{"models":null,"expires":"30d"}"#).status == 200)
        #expect(try await chat(harness, key: key).status == 200)
        let row = try await listed(harness, "team")
        #expect(row?["models"]?.arrayValue?.isEmpty == true && (row?["expires_at"]?.int64Value ?? 0) > unixSeconds() + 29 * 86_400)
    }

    @Test func aBudgetSetOnAStoredKeyIsEnforced() async throws {
        let harness = try await KeyAdminTests.harness()
        defer { Task { await harness.stop() } }
        let key = try await made(harness, #"{"name":"frugal"}"#)
        let set = try await admin(harness, "PATCH", "/admin/keys/frugal", #"{"budget":{"amount":"0.000001","currency":"USD","period":"daily"}}"#)
        #expect(set.status == 200 && set.json?["budget"]?["amount"] == .number("0.000001"))
        #expect(try await chat(harness, key: key).status == 200)  // costs more than the whole budget
        let refused = try await chat(harness, key: key)
        #expect(refused.status == 402 && refused.json?["error"]?["code"]?.stringValue == "insufficient_quota")
        let budgets = try await admin(harness, "GET", "/admin/budgets")
        #expect(budgets.json?["data"]?.arrayValue?.contains { $0["key"]?.stringValue == "frugal" } == true)

        #expect(try await admin(harness, "PATCH", "/admin/keys/frugal", #"{"budget":{"amount":100}}"#).status == 200)
        #expect(try await chat(harness, key: key).status == 200)  // same period and currency: the spend carries over, under 100
        #expect(try await admin(harness, "PATCH", "/admin/keys/frugal", #"{"budget":null}"#).status == 200)
        #expect(try await listed(harness, "frugal")?["budget"]?.isNull == true)
    }

    /// A poll that read the keys before an admin change and finishes after it must not put the old
    /// keys back (it did: a budget raised through the admin API fell back for a poll interval).
    @Test func aStaleKeyReadNeverUndoesANewerOne() async throws {
        let harness = try await GatewayHarness.start("channels:\n  - { name: m, provider: mock, models: [mock-echo] }")
        defer { Task { await harness.stop() } }
        @Sendable func stored(_ models: [String]) -> StoredKey {
            StoredKey(name: "k", digestHex: KeyDigest(of: "sk-stale-read").hex, prefix: "sk-stal", models: models,
                      expiresAt: nil, revoked: false, createdAt: 1)
        }
        let (gate, open) = AsyncStream<Void>.makeStream()
        let reads = Mutex(0)
        let storage = LedgerTests.BrokenStorage(keysSource: {
            let read = reads.withLock { $0 += 1; return $0 }
            guard read == 1 else { return [stored(["after"])] }
            for await _ in gate { break }  // the first read saw the keys before the change; it ends last
            return [stored(["before"])]
        })
        let registry = KeyRegistry(configKeys: [], storage: storage, logger: LedgerTests.quietLogger)
        let runtime = harness.gateway.runtime
        let poll = Task { try await registry.refresh(into: runtime) }
        while reads.withLock({ $0 }) < 1 { await Task.yield() }
        try await registry.reload(into: runtime)  // the admin change: read second, applied first
        open.yield()
        try await poll.value
        #expect(runtime.snapshot.keys.keys.map { $0.models.map(\.text) } == [["after"]])
    }

    @Test func aRotatedKeyWorksBesideTheOldOneDuringItsGrace() async throws {
        let harness = try await KeyAdminTests.harness()
        defer { Task { await harness.stop() } }
        let old = try await made(harness, #"{"name":"svc","rpm":50}"#)
        let before = unixSeconds()
        let rotated = try await admin(harness, "POST", "/admin/keys/svc/rotate", "")
        let after = unixSeconds()
        #expect(rotated.status == 200)
        guard let new = rotated.json?["key"]?.stringValue else { Issue.record("no key in \(rotated.text)"); return }
        #expect(new != old && new.hasPrefix("tg-") && rotated.json?["prefix"]?.stringValue == String(new.prefix(7)))
        let until = rotated.json?["previous_key_valid_until"]?.int64Value ?? 0
        // Bounded by the clock read before and after the call, not by a guess at how long it took
        // (a loaded machine took over a minute once).
        #expect((before + KeyIssuer.defaultGraceSeconds)...(after + KeyIssuer.defaultGraceSeconds) ~= until)
        #expect(try await chat(harness, key: new).status == 200)
        #expect(try await chat(harness, key: old).status == 200)
        // One key with two secrets: one limit counter, one row.
        let row = try await listed(harness, "svc")
        #expect(row?["usage"]?["requests_this_minute"]?.int64Value == 2)
        #expect(try await admin(harness, "GET", "/admin/keys").json?["data"]?.arrayValue?.filter { $0["name"]?.stringValue == "svc" }.count == 1)
        #expect(!(try await admin(harness, "GET", "/admin/keys").text.contains(new)))

        // A second rotation with no grace: the newest secret alone works.
        let again = try await admin(harness, "POST", "/admin/keys/svc/rotate", #"{"grace":0}"#)
        guard let newest = again.json?["key"]?.stringValue else { Issue.record("no key in \(again.text)"); return }
        #expect(again.json?["previous_key_valid_until"]?.isNull == true)
        #expect(try await chat(harness, key: newest).status == 200)
        for retired in [old, new] {
            let refused = try await chat(harness, key: retired)
            #expect(refused.status == 401)
        }
    }

    @Test func theOldSecretIsRefusedOnceItsGraceEnded() async throws {
        let harness = try await KeyAdminTests.harness()
        defer { Task { await harness.stop() } }
        let old = try await made(harness, #"{"name":"svc"}"#)
        // Rotated with a 60 s grace that began 61 s ago (the rotation's clock is injected).
        let (_, new) = try await KeyIssuer.rotate("svc", graceSeconds: 60, storage: harness.gateway.storage, now: unixSeconds() - 61)
        try await harness.gateway.keys.reload(into: harness.gateway.runtime)
        #expect(try await chat(harness, key: new).status == 200)
        let refused = try await chat(harness, key: old)
        #expect(refused.status == 401 && refused.json?["error"]?["message"]?.stringValue?.contains("rotated") == true)
    }

    @Test func theGraceEndsAtItsSecond() throws {
        var stored = StoredKey(name: "k", digestHex: KeyDigest(of: "new-secret").hex, prefix: "new-sec", models: [], expiresAt: nil,
                               revoked: false, createdAt: 1)
        stored.previousDigestHex = KeyDigest(of: "old-secret").hex
        stored.previousValidUntil = 1_000
        let store = KeyStore([stored.clientKey, stored.previousClientKey].compactMap { $0 })
        #expect(store.keys.count == 1)
        guard case .valid = store.check(Array("old-secret".utf8), nowUnix: 999) else { Issue.record("refused inside its grace"); return }
        guard case .replaced = store.check(Array("old-secret".utf8), nowUnix: 1_000) else { Issue.record("accepted after its grace"); return }
        guard case .valid = store.check(Array("new-secret".utf8), nowUnix: 1_000_000) else { Issue.record("new secret refused"); return }
    }

    @Test func configFileKeysAreShownAsSuchAndRefusedWithWhereTheyLive() async throws {
        let harness = try await KeyAdminTests.harness()
        defer { Task { await harness.stop() } }
        let row = try await listed(harness, "tester")
        #expect(row?["source"]?.stringValue == "config" && row?["created_at"]?.isNull == true)
        for (method, path, body) in [("PATCH", "/admin/keys/tester", #"{"rpm":5}"#), ("POST", "/admin/keys/tester/rotate", ""),
                                     ("DELETE", "/admin/keys/tester", "")] {
            let refused = try await admin(harness, method, path, body)
            let message = refused.json?["error"]?["message"]?.stringValue ?? ""
            #expect(refused.status == 409 && refused.json?["error"]?["code"]?.stringValue == "defined_in_config", "\(method) \(path)")
            #expect(message.contains("config file") && message.contains("test.yaml, line"), "\(message)")
        }
        #expect(try await chat(harness, key: GatewayHarness.clientKey).status == 200)
    }

    static let malformedChanges = [
        "not json", "[]", "{}", #"{"name":"other"}"#, #"{"colour":"red"}"#, #"{"rpm":0}"#, #"{"rpm":-5}"#, #"{"rpm":"10"}"#,
        #"{"rpm":1.5}"#, #"{"tpm":true}"#, #"{"concurrency":99999999}"#, #"{"models":"gpt-*"}"#, #"{"models":[1]}"#,
        #"{"models":[""]}"#, #"{"expires":"yesterday"}"#, #"{"expires":1}"#, #"{"expires":{}}"#, #"{"budget":5}"#,
        #"{"budget":{"amount":-1}}"#, #"{"budget":{"amount":0}}"#, #"{"budget":{"amount":"lots"}}"#,
        #"{"budget":{"amount":5,"currency":"usd"}}"#, #"{"budget":{"amount":5,"currency":"XYZ"}}"#,
        #"{"budget":{"amount":5,"period":"hourly"}}"#, #"{"budget":{"amount":5,"cap":1}}"#, #"{"rpm":5,"budget":[]}"#,
    ]

    @Test func malformedChangesAreRefusedAndChangeNothing() async throws {
        let harness = try await KeyAdminTests.harness()
        defer { Task { await harness.stop() } }
        _ = try await made(harness, #"{"name":"steady","rpm":7,"models":["mock-*"]}"#)
        let before = try await listed(harness, "steady")
        for body in Self.malformedChanges {
            let refused = try await admin(harness, "PATCH", "/admin/keys/steady", body)
            #expect(refused.status == 400 && !(refused.json?["error"]?["message"]?.stringValue ?? "").isEmpty, "\(body): \(refused.text)")
        }
        for body in ["forever", #"{"grace":"forever"}"#, #"{"grace":-1}"#, #"{"grace":"91d"}"#, #"{"grace":1e99}"#, #"{"later":1}"#] {
            let refused = try await admin(harness, "POST", "/admin/keys/steady/rotate", body)
            #expect(refused.status == 400, "\(body): \(refused.text)")
        }
        #expect(try await listed(harness, "steady") == before)
        #expect(try await admin(harness, "PATCH", "/admin/keys/nobody", #"{"rpm":1}"#).status == 404)
        #expect(try await admin(harness, "POST", "/admin/keys/nobody/rotate").status == 404)
        #expect(try await admin(harness, "GET", "/admin/keys/steady").status == 405)
        #expect(try await admin(harness, "DELETE", "/admin/keys/steady").status == 200)
        let revoked = try await admin(harness, "PATCH", "/admin/keys/steady", #"{"rpm":1}"#)
        #expect(revoked.status == 409 && revoked.json?["error"]?["message"]?.stringValue?.contains("revoked") == true)
    }

    @Test func changesMadeByAnotherProcessArriveOnTheNextRefresh() async throws {
        let harness = try await KeyAdminTests.harness()
        defer { Task { await harness.stop() } }
        let key = try await made(harness, #"{"name":"shared"}"#)
        // What `tollgate keys update` and `rotate` do, on the same database.
        let storage = try await SQLiteStorage.open(url: harness.gateway.config.storageURL, logger: .init(label: "cli"))
        let new = try await closing(storage) {
            var change = KeyChange()
            change.models = ["other"]
            _ = try await KeyIssuer.update("shared", change, storage: storage)
            #expect(await GatewayHarness.eventually { (try? await chat(harness, key: key))?.status == 403 })
            return try await KeyIssuer.rotate("shared", graceSeconds: 0, storage: storage).1
        }
        #expect(await GatewayHarness.eventually { (try? await chat(harness, key: new, model: "other"))?.status == 200 })
        #expect(try await chat(harness, key: key, model: "other").status == 401)
    }

    @Test(arguments: [("0", Int64(0)), ("90s", 90), ("30m", 1_800), ("24h", 86_400), ("7d", 604_800), ("3600", 3_600)])
    func graceTexts(text: String, seconds: Int64) {
        #expect(KeyIssuer.parseGrace(text) == seconds)
    }

    @Test func budgetTexts() {
        #expect(Budget.parse("50") == Budget(amountNano: 50_000_000_000, currency: "USD", period: .monthly))
        #expect(Budget.parse("12.5 eur daily") == Budget(amountNano: 12_500_000_000, currency: "EUR", period: .daily))
        for bad in ["", "-5", "0", "5 dollars", "5 USD hourly", "5 USD monthly extra", "lots"] { #expect(Budget.parse(bad) == nil, "\(bad)") }
        for bad in ["", "-1", "forever", "5y", "1.5h"] { #expect(KeyIssuer.parseGrace(bad) == nil, "\(bad)") }
    }

    /// A key's fields are one shared box (a copy is a retain): changing a copy must copy the box
    /// first, or a key in a live store would change under its requests.
    @Test func aChangedCopyOfAKeyLeavesTheOriginalAlone() {
        var original = ClientKey(name: "team", digest: KeyDigest(of: Array("sk-a".utf8)), models: ["gpt-4o"], limits: KeyLimits(rpm: 5))
        original.fallbacks = ["gpt-4o": ["gpt-4o-mini"]]
        var copy = original
        copy.name = "other"
        copy.revoked = true
        copy.models = []
        copy.limits = KeyLimits(rpm: 9)
        copy.fallbacks = [:]
        copy.replacedAt = 7
        #expect(original.name == "team" && !original.revoked && original.replacedAt == nil)
        #expect(original.limits == KeyLimits(rpm: 5) && original.fallbacks == ["gpt-4o": ["gpt-4o-mini"]])
        #expect(original.allows(model: "gpt-4o") && !original.allows(model: "claude"))
        #expect(copy.name == "other" && copy.revoked && copy.replacedAt == 7 && copy.allows(model: "claude"))
        let store = KeyStore([original])
        guard case .valid(let stored) = store.check(Array("sk-a".utf8), nowUnix: 0) else { Issue.record("the key is not valid"); return }
        var changed = stored
        changed.revoked = true
        guard case .valid = store.check(Array("sk-a".utf8), nowUnix: 0) else { Issue.record("a copy's change reached the store"); return }
    }
}
