import Foundation
import TollgatePluginKit
@testable import VertexPlugin

/// A scripted token endpoint standing in for `Host.httpCall`: records every request and answers
/// with whatever `respond` returns for the request's index.
final class MockTokenEndpoint: @unchecked Sendable {
    struct Request {
        var url: String
        var headers: [(String, String)]
        var body: String

        /// The JWT in the form body.
        var assertion: String? {
            body.split(separator: "&").first { $0.hasPrefix("assertion=") }.map { String($0.dropFirst("assertion=".count)) }
        }
    }

    typealias Responder = @Sendable (_ index: Int, _ request: Request) throws(PluginError) -> (status: Int, body: [UInt8])

    private let log = LockedBox<[Request]>([])
    private let responder: LockedBox<Responder>

    init(_ respond: @escaping Responder = MockTokenEndpoint.grant()) {
        responder = LockedBox(respond)
    }

    var requests: [Request] { log.get() }
    var count: Int { log.get().count }

    func respond(with respond: @escaping Responder) { responder.set(respond) }

    var post: TokenCache.Post {
        { [self] url, headers, body throws(PluginError) in
            let request = Request(url: url, headers: headers, body: String(decoding: body, as: UTF8.self))
            let index = log.update { log in
                log.append(request)
                return log.count - 1
            }
            return try responder.get()(index, request)
        }
    }

    /// Answers 200 with token `tok-<index>` valid for `lifetime` seconds.
    static func grant(lifetime: Int = 3600) -> Responder {
        { index, _ in (200, Array(#"{"access_token":"tok-\#(index)","expires_in":\#(lifetime),"token_type":"Bearer"}"#.utf8)) }
    }
}

/// A clock tests move by hand.
final class ManualClock: @unchecked Sendable {
    private let now: LockedBox<Int64>
    init(seconds: Int64) { now = LockedBox(seconds * 1_000_000_000) }
    var nanos: Int64 { now.get() }
    func set(nanos: Int64) { now.set(nanos) }
    func advance(seconds: Int64) { now.update { $0 += seconds * 1_000_000_000 } }
    var clock: TokenCache.Clock { { [self] in now.get() } }
}

/// Runs `body` on `count` fresh threads at once and waits for all of them.
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for i in 0..<count {
        group.enter()
        let thread = Thread {
            body(i)
            group.leave()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
    group.wait()
}

/// Polls until `condition` holds or `seconds` pass; false on time-out.
func eventually(within seconds: Double = 10, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while !condition() {
        if Date() > deadline { return false }
        usleep(1_000)
    }
    return true
}
