import NIOHTTP1
import Testing
@testable import TollgateCore

@Suite struct RoutingTests {
    @Test(arguments: [
        ("gpt-*", "gpt-4o", true), ("gpt-*", "gpt-", true), ("gpt-*", "xgpt-4", false),
        ("*-mini", "o4-mini", true), ("*-mini", "o4-mini-x", false), ("a*b*c", "a-b-c", true), ("a*b*c", "a-c-b", false),
        ("*", "anything", true), ("exact", "exact", true), ("exact", "exactly", false),
    ])
    func matchesWildcards(pattern: String, name: String, expected: Bool) {
        #expect(ModelPattern(pattern).matches(name) == expected)
    }

    func channel(_ name: String, models: [String], weight: Int = 1, priority: Int = 0, map: [String: String] = [:]) -> RuntimeChannel {
        var config = ChannelConfig(name: name, provider: "mock", models: models)
        config.weight = weight
        config.priority = priority
        config.modelMap = map
        return RuntimeChannel(config: config, backend: .mock)
    }

    @Test func smoothWeightedRoundRobinHonoursWeights() {
        let router = ModelRouter(channels: [channel("heavy", models: ["m"], weight: 3), channel("light", models: ["m"], weight: 1)])
        var counts: [String: Int] = [:]
        for _ in 0..<1000 { counts[router.pick("m")!.name, default: 0] += 1 }
        #expect(counts == ["heavy": 750, "light": 250])
        // Smooth: the light channel is never starved for long.
        let order = (0..<8).map { _ in router.pick("m")!.name }
        #expect(order.filter { $0 == "light" }.count == 2)
        #expect(order[0..<4].contains("light"))
    }

    /// A tier of one channel is routed by its health's admission alone (its score is not read):
    /// admitted with a lease holding the table's own model health, which the lease's report and
    /// end update; refused while rate limited (with when it may serve again); passed over when
    /// the attempt already tried it.
    @Test func aTierOfOneChannelIsRoutedByItsAdmission() throws {
        var config = ChannelConfig(name: "only", provider: "openai", models: ["m"])
        config.modelMap = ["m": "upstream-m"]
        let endpoint = UpstreamEndpoint(tls: false, host: "127.0.0.1", port: 9)
        let only = RuntimeChannel(config: config, backend: .openAI(PassthroughUpstream(endpoint: endpoint, basePath: "/v1", baseHeaders: HTTPHeaders())))
        let router = ModelRouter(channels: [only])
        guard case .routed(let channel, let lease?) = router.route("m") else { Issue.record("not routed"); return }
        #expect(channel === only && lease.model == "upstream-m")
        let table = try #require(only.health.withState { $0.models["upstream-m"] })
        #expect(lease.tracked === table && table.adaptive.inFlight == 1)
        lease.report(.success(latency: .milliseconds(5), limits: RateLimitInfo()))
        lease.end()
        #expect(table.requests == 1 && table.adaptive.inFlight == 0)

        var tried = TriedChannels()
        tried.insert("only")
        guard case .unavailable = router.route("m", excluding: tried) else { Issue.record("a tried channel was routed again"); return }

        guard case .routed(_, let limited?) = router.route("m") else { Issue.record("not routed"); return }
        var limits = RateLimitInfo()
        limits.retryAfter = .seconds(30)
        limited.report(.rateLimited(limits, UpstreamErrorInfo(message: "slow down", scope: .unknown)))
        limited.end()
        guard case .unavailable(let refusal) = router.route("m") else { Issue.record("a rate-limited channel was routed"); return }
        #expect(refusal.rateLimited && refusal.retryAt != nil && refusal.reasons == ["rate limited: HTTP 429: slow down"])
        #expect(table.requests == 2 && table.adaptive.inFlight == 0)
    }

    @Test func lowestPriorityTierServesFirst() {
        let router = ModelRouter(channels: [channel("fallback", models: ["m"], priority: 5), channel("primary", models: ["m*"], priority: 0)])
        #expect((0..<10).allSatisfy { _ in router.pick("m")?.name == "primary" })
        #expect(router.pick("other") == nil)
    }

    @Test func channelsGroupIntoPriorityTiersInConfigOrder() {
        let router = ModelRouter(channels: [channel("a", models: ["m"], priority: 1), channel("b", models: ["m"], priority: 0),
                                            channel("c", models: ["m"], priority: 1), channel("d", models: ["m"], priority: 2),
                                            channel("e", models: ["m", "solo"], priority: 0), channel("f", models: ["x"], priority: 0)])
        #expect(router.tiers(for: "m") == [[1, 4], [0, 2], [3]])
        #expect(router.tiers(for: "solo") == [[4]])
        #expect(router.tiers(for: "none").isEmpty)
        let resting = ModelRouter(channels: router.channels, outOfRotation: ["b", "e"])
        #expect(resting.tiers(for: "m") == [[0, 2], [3]])
    }

    /// A request's tried channels: the first inline, a failover's further ones in a set.
    @Test func triedChannelsHoldEveryNameInsertedAndNoOther() {
        var tried = TriedChannels.none
        #expect(!tried.contains("a") && !tried.contains(""))
        tried.insert("a")
        tried.insert("a")
        #expect(tried.contains("a") && !tried.contains("b"))
        for name in ["b", "c", "a", ""] { tried.insert(name) }
        #expect(["a", "b", "c", ""].allSatisfy(tried.contains) && !tried.contains("d"))
    }

    /// Tiers are remembered per model (asked again, the same), but only for served names of a
    /// bounded length and count: names a client makes up cannot grow the router.
    @Test func tiersAreRememberedForABoundedSetOfServedNames() {
        let router = ModelRouter(channels: [channel("any", models: ["m*"], priority: 0), channel("x", models: ["x"], priority: 1)])
        #expect(router.tiers(for: "m1") == [[0]] && router.tiers(for: "m1") == [[0]])
        #expect(router.tiers(for: "none").isEmpty && router.tiers(for: "none").isEmpty)
        let long = "m" + String(repeating: "a", count: ModelRouter.cacheableName)
        #expect(router.tiers(for: long) == [[0]])
        for i in 0..<(ModelRouter.cachedModels + 10) { _ = router.tiers(for: "m-\(i)") }
        #expect(router.cachedTierCount == ModelRouter.cachedModels)
        #expect(router.tiers(for: "m-\(ModelRouter.cachedModels + 5)") == [[0]] && router.tiers(for: "x") == [[1]])
        // The last name asked for is remembered apart: names in turn, one coming back, each gets its own.
        for name in ["x", "m1", "x", "x", "none", "m1", "m1", "x"] {
            #expect(router.tiers(for: name) == (name == "x" ? [[1]] : name == "none" ? [] : [[0]]), "\(name)")
        }
    }

    /// Models admitted in turn on one channel each keep their own health, the table's.
    @Test func modelsInTurnKeepTheirOwnHealth() throws {
        let health = ChannelHealth(name: "c", settings: HealthSettings(), events: HealthEvents())
        var seen: [String: ModelHealth] = [:]
        for model in ["a", "b", "a", "a", "c", "b", "a"] {
            guard case .admitted(let lease) = health.admit(model: model, embeddings: false, now: .now()) else { Issue.record("refused \(model)"); return }
            let table = try #require(health.withState { $0.models[model] })
            #expect(lease.tracked === table && (seen[model] ?? table) === table, "\(model)")
            seen[model] = table
            lease.report(.success(latency: .milliseconds(1), limits: RateLimitInfo()))
            lease.end()
        }
        #expect(seen.mapValues(\.requests) == ["a": 4, "b": 2, "c": 1])
        #expect(health.score(model: "a", now: .now()) != nil && health.score(model: "unknown", now: .now()) == 1000)
    }

    @Test func modelMapRoutesAndRenames() {
        let c = channel("c", models: ["gpt-4o"], map: ["latest": "gpt-4o"])
        let router = ModelRouter(channels: [c])
        #expect(router.pick("latest")?.upstreamModel(for: "latest") == "gpt-4o")
        #expect(router.modelNames == ["gpt-4o", "latest"])
        // The last name is remembered apart from the map: names in turn, one coming back, each gets its own.
        let mapped = channel("m", models: ["*"], map: ["a": "upstream-a", "b": "upstream-b"])
        for name in ["a", "b", "b", "x", "a", "a", "x", "b"] {
            #expect(mapped.upstreamModel(for: name) == (name == "x" ? "x" : "upstream-" + name), "\(name)")
        }
    }
}

@Suite struct KeyTests {
    @Test func digestsAndChecksKeys() {
        let digest = KeyDigest(of: "sk-secret")
        #expect(digest.hex == "0e9a61a37a36eac447e4e6f85f9fdc7d4c3de2b7e96f1f99ccd12e16b2fd3213" || digest.hex.count == 64)
        #expect(KeyDigest(hex: digest.hex) == digest)
        #expect(KeyDigest(hex: "zz") == nil)
        var revoked = ClientKey(name: "r", digest: KeyDigest(of: "sk-revoked"))
        revoked.revoked = true
        let store = KeyStore([
            ClientKey(name: "ok", digest: digest, models: ["gpt-*"]),
            ClientKey(name: "old", digest: KeyDigest(of: "sk-old"), expiresAt: 100),
            revoked,
        ])
        guard case .valid(let key) = store.check("sk-secret".utf8, nowUnix: 50) else { Issue.record("not valid"); return }
        #expect(key.allows(model: "gpt-4o") && !key.allows(model: "claude"))
        guard case .unknown = store.check("sk-nope".utf8, nowUnix: 50) else { Issue.record("not unknown"); return }
        guard case .expired = store.check("sk-old".utf8, nowUnix: 100) else { Issue.record("not expired"); return }
        guard case .revoked = store.check("sk-revoked".utf8, nowUnix: 1) else { Issue.record("not revoked"); return }
    }

    @Test func sha256MatchesAKnownVector() {
        // SHA-256("abc") from FIPS 180-2.
        #expect(KeyDigest(of: "abc").hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func generatedKeysAreDistinctAndWellFormed() {
        let a = KeyGenerator.clientKey(), b = KeyGenerator.clientKey()
        #expect(a != b)
        #expect(a.hasPrefix("tg-") && a.count == 43)
        #expect(a.dropFirst(3).allSatisfy { $0.isLetter || $0.isNumber })
    }
}
