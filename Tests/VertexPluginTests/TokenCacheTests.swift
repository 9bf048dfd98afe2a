import Foundation
import Testing
import TollgatePluginKit
@testable import VertexPlugin

@Suite struct TokenCacheTests {
    static let start: Int64 = 1_767_225_600
    static let second: Int64 = 1_000_000_000

    @Test func theFirstCallExchangesASignedJWTAtTheTokenURI() throws {
        let endpoint = MockTokenEndpoint()
        let clock = ManualClock(seconds: Self.start)
        let cache = TokenCache(post: endpoint.post, clock: clock.clock)
        let token = try cache.token(for: Keys.signer(tokenURI: "http://127.0.0.1:8123/token"))
        #expect(token == AccessToken(value: "tok-0", expiresAtNanos: (Self.start + 3600) * Self.second))

        let request = try #require(endpoint.requests.first)
        #expect(request.url == "http://127.0.0.1:8123/token")
        #expect(request.headers.contains { $0.0 == "Content-Type" && $0.1 == "application/x-www-form-urlencoded" })
        #expect(request.body.hasPrefix("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion="))
        let jwt = try JWTSignerTests.Parts(try #require(request.assertion))
        let verifier = try #require(RS256Verifier(pkcs1DER: Keys.rsaPublicPKCS1DER))
        #expect(verifier.verify(message: Array(jwt.signingInput.utf8), signature: jwt.signature))
        let claims = try JSONParser.parse(jwt.claims)
        #expect(claims["iat"]?.int64Value == Self.start)
        #expect(claims["aud"]?.stringValue == "http://127.0.0.1:8123/token")
    }

    @Test func aFreshTokenIsServedFromTheCache() throws {
        let endpoint = MockTokenEndpoint()
        let clock = ManualClock(seconds: Self.start)
        let cache = TokenCache(post: endpoint.post, clock: clock.clock)
        let signer = Keys.signer()
        let first = try cache.token(for: signer)
        clock.advance(seconds: 1800)
        let second = try cache.token(for: signer)
        #expect(first == second)
        #expect(endpoint.count == 1)
    }

    @Test func refreshesExactlySixtySecondsBeforeExpiry() throws {
        let endpoint = MockTokenEndpoint()
        let clock = ManualClock(seconds: Self.start)
        let cache = TokenCache(post: endpoint.post, clock: clock.clock)
        let signer = Keys.signer()
        let expiry = try cache.token(for: signer).expiresAtNanos
        #expect(expiry == (Self.start + 3600) * Self.second)

        clock.set(nanos: expiry - 60 * Self.second - 1)
        #expect(try cache.token(for: signer).value == "tok-0")
        #expect(endpoint.count == 1)

        clock.set(nanos: expiry - 60 * Self.second)
        let refreshed = try cache.token(for: signer)
        #expect(refreshed.value == "tok-1")
        #expect(refreshed.expiresAtNanos == clock.nanos + 3600 * Self.second)
        #expect(endpoint.count == 2)
        // The refresh signs a new JWT issued now.
        let jwt = try JWTSignerTests.Parts(try #require(endpoint.requests.last?.assertion))
        #expect(try JSONParser.parse(jwt.claims)["iat"]?.int64Value == clock.nanos / Self.second)
    }

    @Test func fiftyThreadsOnAnExpiredTokenCauseOneExchange() throws {
        let clock = ManualClock(seconds: Self.start)
        let cacheBox = LockedBox<TokenCache?>(nil)
        let linedUp = LockedBox(false)
        let endpoint = MockTokenEndpoint { index, _ in
            // Hold the exchange until the 49 other callers are blocked waiting for it.
            linedUp.set(eventually { (cacheBox.get()?.waitingCallers ?? 0) == 49 })
            return (200, Array(#"{"access_token":"tok-\#(index)","expires_in":3600}"#.utf8))
        }
        let cache = TokenCache(post: endpoint.post, clock: clock.clock)
        cacheBox.set(cache)
        let signer = Keys.signer()

        let results = LockedBox<[Result<AccessToken, PluginError>]>([])
        onThreads(50) { _ in
            let result = Result { () throws(PluginError) in try cache.token(for: signer) }
            results.update { $0.append(result) }
        }
        #expect(linedUp.get(), "callers did not line up behind the refresh")
        #expect(endpoint.count == 1)
        #expect(results.get().count == 50)
        #expect(results.get().allSatisfy { (try? $0.get().value) == "tok-0" })
        #expect(cache.waitingCallers == 0)

        // Expired again: still one exchange for the next crowd, not one per caller.
        clock.advance(seconds: 3600)
        endpoint.respond(with: MockTokenEndpoint.grant())
        onThreads(50) { _ in _ = try? cache.token(for: signer) }
        #expect(endpoint.count == 2)
    }

    @Test func aFailureReachesEveryWaiterAndTheNextCallRetries() throws {
        let clock = ManualClock(seconds: Self.start)
        let cacheBox = LockedBox<TokenCache?>(nil)
        let linedUp = LockedBox(false)
        let endpoint = MockTokenEndpoint { _, _ in
            linedUp.set(eventually { (cacheBox.get()?.waitingCallers ?? 0) == 19 })
            return (400, Array(#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#.utf8))
        }
        let cache = TokenCache(post: endpoint.post, clock: clock.clock)
        cacheBox.set(cache)
        let signer = Keys.signer()

        let messages = LockedBox<[String]>([])
        onThreads(20) { _ in
            do throws(PluginError) {
                _ = try cache.token(for: signer)
                messages.update { $0.append("no error") }
            } catch {
                messages.update { $0.append(error.kind == .auth ? error.message : "wrong kind \(error.kind)") }
            }
        }
        #expect(linedUp.get(), "callers did not line up behind the refresh")
        #expect(endpoint.count == 1)
        let expected = "token exchange at http://127.0.0.1:9/token failed with HTTP 400: invalid_grant: Invalid JWT Signature."
        #expect(messages.get() == Array(repeating: expected, count: 20))

        // Not cached: the next call exchanges again, and succeeds.
        endpoint.respond(with: MockTokenEndpoint.grant())
        #expect(try cache.token(for: signer).value == "tok-1")
        #expect(endpoint.count == 2)
        #expect(try cache.token(for: signer).value == "tok-1")
        #expect(endpoint.count == 2)
    }

    @Test func aFailedRefreshDoesNotServeTheOldToken() throws {
        let endpoint = MockTokenEndpoint()
        let clock = ManualClock(seconds: Self.start)
        let cache = TokenCache(post: endpoint.post, clock: clock.clock)
        let signer = Keys.signer()
        _ = try cache.token(for: signer)
        clock.advance(seconds: 3570)  // inside the 60 s margin, not yet expired
        endpoint.respond { _, _ in (503, Array("unavailable".utf8)) }
        #expect(throws: PluginError.self) { try cache.token(for: signer) }
        endpoint.respond(with: MockTokenEndpoint.grant())
        #expect(try cache.token(for: signer).value == "tok-2")
    }

    @Test func transportFailuresBecomeAuthFailures() {
        let endpoint = MockTokenEndpoint { _, _ throws(PluginError) in throw PluginError(.upstream, "connection refused") }
        let cache = TokenCache(post: endpoint.post, clock: ManualClock(seconds: Self.start).clock)
        do {
            _ = try cache.token(for: Keys.signer())
            Issue.record("expected a failure")
        } catch {
            #expect(error.kind == .auth)
            #expect(error.message == "token exchange at http://127.0.0.1:9/token failed: connection refused")
        }
    }

    @Test func malformedAnswersFailAndAreNotCached() throws {
        let endpoint = MockTokenEndpoint { _, _ in (200, Array(#"{"token":"x"}"#.utf8)) }
        let cache = TokenCache(post: endpoint.post, clock: ManualClock(seconds: Self.start).clock)
        let signer = Keys.signer()
        for _ in 0..<2 {
            do {
                _ = try cache.token(for: signer)
                Issue.record("expected a failure")
            } catch {
                #expect(error.kind == .auth)
                #expect(error.message.contains(#"without an "access_token" string"#))
            }
        }
        #expect(endpoint.count == 2)
    }

    @Test func aShortLivedTokenIsUsedOnceThenRefreshed() throws {
        let endpoint = MockTokenEndpoint(MockTokenEndpoint.grant(lifetime: 30))
        let cache = TokenCache(post: endpoint.post, clock: ManualClock(seconds: Self.start).clock)
        let signer = Keys.signer()
        #expect(try cache.token(for: signer).value == "tok-0")
        #expect(try cache.token(for: signer).value == "tok-1")
    }

    @Test func eachAccountHasItsOwnToken() throws {
        let endpoint = MockTokenEndpoint()
        let cache = TokenCache(post: endpoint.post, clock: ManualClock(seconds: Self.start).clock)
        let a = Keys.signer(email: "a@acme-prod.iam.gserviceaccount.com")
        let b = Keys.signer(pem: Keys.otherRSA, email: "b@acme-prod.iam.gserviceaccount.com")
        let tokenA = try cache.token(for: a)
        let tokenB = try cache.token(for: b)
        #expect(tokenA.value != tokenB.value)
        #expect(try cache.token(for: a) == tokenA)
        #expect(try cache.token(for: b) == tokenB)
        #expect(endpoint.count == 2)
        // The same account through another signer instance (another channel) shares the token.
        #expect(try cache.token(for: Keys.signer(email: "a@acme-prod.iam.gserviceaccount.com")) == tokenA)
        #expect(endpoint.count == 2)
    }

    /// One account's slow exchange must not hold up another's.
    @Test func accountsRefreshIndependently() throws {
        let bDone = DispatchSemaphore(value: 0)
        let bFinishedFirst = LockedBox(false)
        let endpoint = MockTokenEndpoint { index, _ in
            if index == 0 {
                // Account A's exchange (the first) waits for account B's to finish.
                bFinishedFirst.set(bDone.wait(timeout: .now() + 10) == .success)
            }
            return (200, Array(#"{"access_token":"tok-\#(index)","expires_in":3600}"#.utf8))
        }
        let cache = TokenCache(post: endpoint.post, clock: ManualClock(seconds: Self.start).clock)
        let a = Keys.signer(email: "a@acme-prod.iam.gserviceaccount.com")
        let b = Keys.signer(pem: Keys.otherRSA, email: "b@acme-prod.iam.gserviceaccount.com")
        onThreads(2) { i in
            if i == 0 {
                _ = try? cache.token(for: a)
            } else {
                _ = eventually { endpoint.count == 1 }  // A's exchange is in flight
                _ = try? cache.token(for: b)
                bDone.signal()
            }
        }
        #expect(bFinishedFirst.get(), "account B's refresh was blocked behind account A's")
        #expect(endpoint.count == 2)
    }

    @Test func invalidateForcesAnExchange() throws {
        let endpoint = MockTokenEndpoint()
        let cache = TokenCache(post: endpoint.post, clock: ManualClock(seconds: Self.start).clock)
        let signer = Keys.signer()
        #expect(try cache.token(for: signer).value == "tok-0")
        cache.invalidate(signer)
        #expect(try cache.token(for: signer).value == "tok-1")
    }
}
