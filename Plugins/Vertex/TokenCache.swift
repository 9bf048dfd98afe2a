#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TollgatePluginKit

/// Access tokens per service account. A token is reused until 60 s before it expires; after that
/// exactly one caller per account refreshes while the others wait for, and share, its outcome
/// (success or failure). A failure is not cached: the next call tries again.
///
/// Callers block (the HTTP exchange, or waiting for another thread's), which is why the plugin
/// sets `buildMayBlock` and runs on the gateway's blocking pool.
public final class TokenCache: @unchecked Sendable {
    /// Sends one HTTP POST and returns the status and body.
    public typealias Post = @Sendable (_ url: String, _ headers: [(String, String)], _ body: [UInt8]) throws(PluginError) -> (status: Int, body: [UInt8])
    /// Unix nanoseconds.
    public typealias Clock = @Sendable () -> Int64

    /// Tokens this close to expiry are refreshed before use, so a request never leaves with a
    /// token that lapses in flight.
    public static let refreshMarginNanos: Int64 = 60 * 1_000_000_000

    private let post: Post
    private let clock: Clock
    private let lock = ConditionLock()
    // Guarded by `lock`.
    private var entries: [Key: Entry] = [:]
    private var waiting = 0

    /// - Parameters:
    ///   - post: the token request's transport; defaults to the host's side request.
    ///   - clock: defaults to the host's wall clock.
    public init(post: @escaping Post = TokenCache.hostPost(timeoutMilliseconds: 10_000),
                clock: @escaping Clock = TokenCache.hostClock) {
        self.post = post
        self.clock = clock
    }

    /// A usable access token for the signer's account, from the cache or a fresh exchange.
    public func token(for signer: JWTSigner) throws(PluginError) -> AccessToken {
        let key = Key(signer)
        lock.lock()
        let entry: Entry
        if let existing = entries[key] {
            entry = existing
        } else {
            entry = Entry()
            entries[key] = entry
        }
        if let token = entry.token, clock() < token.expiresAtNanos &- TokenCache.refreshMarginNanos {
            lock.unlock()
            return token
        }
        if let flight = entry.flight {
            // Another thread is refreshing: wait for its outcome and share it.
            while true {
                if let result = flight.result {
                    lock.unlock()
                    return try result.get()
                }
                waiting += 1
                lock.wait()
                waiting -= 1
            }
        }
        // This caller refreshes; the lock is not held during the exchange.
        let flight = Flight()
        entry.flight = flight
        lock.unlock()

        let result: Result<AccessToken, PluginError>
        do { result = .success(try exchange(signer)) } catch { result = .failure(error) }

        lock.lock()
        flight.result = result
        entry.flight = nil
        if case .success(let token) = result { entry.token = token }
        lock.broadcast()
        lock.unlock()
        return try result.get()
    }

    /// Forgets the account's token, so the next call exchanges anew (e.g. after Vertex answered 401).
    public func invalidate(_ signer: JWTSigner) {
        lock.withLock { entries[Key(signer)]?.token = nil }
    }

    /// Callers blocked on another thread's refresh right now (tests use it to line threads up).
    var waitingCallers: Int { lock.withLock { waiting } }

    /// Signs a JWT and trades it for an access token.
    private func exchange(_ signer: JWTSigner) throws(PluginError) -> AccessToken {
        let now = clock()
        let assertion = try signer.assertion(issuedAt: now / 1_000_000_000)
        let uri = signer.account.tokenURI
        let answer: (status: Int, body: [UInt8])
        do {
            answer = try post(uri, TokenExchange.requestHeaders(), TokenExchange.requestBody(assertion: assertion))
        } catch {
            throw PluginError(.auth, "token exchange at \(uri) failed: \(error.message)")
        }
        return try TokenExchange.parseAnswer(status: answer.status, body: answer.body, tokenURI: uri, sentAtNanos: now)
    }

    // MARK: Defaults

    /// `Host.httpCall`, the gateway's side request.
    public static func hostPost(timeoutMilliseconds: UInt32) -> Post {
        { url, headers, body throws(PluginError) in
            let answer = try Host.httpCall(method: "POST", url: url, headers: headers, body: body, timeoutMilliseconds: timeoutMilliseconds)
            return (answer.status, answer.body)
        }
    }

    /// The host's clock, or the system's when no host is attached (a plugin used outside the gateway).
    public static let hostClock: Clock = {
        let host = Host.nowUnixNanos
        if host != 0 { return host }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    // MARK: State

    /// One cache slot per account and key; a rotated key or another token URI is another account.
    private struct Key: Hashable {
        var clientEmail: String
        var privateKeyID: String
        var tokenURI: String
        var scope: String

        init(_ signer: JWTSigner) {
            clientEmail = signer.account.clientEmail
            privateKeyID = signer.account.privateKeyID
            tokenURI = signer.account.tokenURI
            scope = signer.scope
        }
    }

    /// Mutated only under the cache's lock.
    private final class Entry {
        var token: AccessToken?
        var flight: Flight?
    }

    /// One refresh in progress; its result is shared by every caller that waited for it.
    private final class Flight {
        var result: Result<AccessToken, PluginError>?
    }
}
