import Glibc
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
@testable import TollgateCore

/// An OpenAI-compatible upstream that answers as the test commands: a normal answer by default,
/// or a given status with headers and body, a hang, or a dropped connection. One-shot answers
/// queued with `next` go first. Probes (`"content":"ping"`, `max_tokens: 1`) are told apart.
final class ScriptedUpstream: Sendable {
    enum Answer: Sendable {
        case ok
        case status(Int, [(String, String)], String)
        /// Never answers.
        case hang
        /// Closes the connection without a word.
        case drop
    }

    let mock: MockUpstream
    private let standing: NIOLockedValueBox<Answer>
    private let queued: NIOLockedValueBox<[Answer]>

    private init(mock: MockUpstream, standing: NIOLockedValueBox<Answer>, queued: NIOLockedValueBox<[Answer]>) {
        self.mock = mock
        self.standing = standing
        self.queued = queued
    }

    static func start(_ answer: Answer = .ok) async throws -> ScriptedUpstream {
        let standing = NIOLockedValueBox(answer)
        let queued = NIOLockedValueBox<[Answer]>([])
        let mock = try await MockUpstream { request, respond in
            let answer = queued.withLockedValue { $0.isEmpty ? nil : $0.removeFirst() } ?? standing.withLockedValue { $0 }
            switch answer {
            case .ok: Self.answerOK(request, respond)
            case .status(let status, let headers, let body): respond.json(status, body, headers: headers)
            case .hang: break
            case .drop: respond.close()
            }
        }
        return ScriptedUpstream(mock: mock, standing: standing, queued: queued)
    }

    func set(_ answer: Answer) { standing.withLockedValue { $0 = answer } }
    func next(_ answers: Answer...) { queued.withLockedValue { $0 += answers } }

    var baseURL: String { mock.baseURL }
    /// Requests from clients (probes left out).
    var served: Int { mock.requests.filter { !Self.isProbe($0) }.count }
    var probes: Int { mock.requests.filter(Self.isProbe).count }
    func stop() async { await mock.stop() }

    static func isProbe(_ request: ReceivedRequest) -> Bool {
        request.json?["max_tokens"]?.int64Value == 1 && request.json?["messages"]?[0]?["content"]?.stringValue == "ping"
    }

    static let usage = #"{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}"#

    static func answerOK(_ request: ReceivedRequest, _ respond: MockResponder) {
        let body = request.json
        if body?["stream"]?.boolValue == true {
            respond.head(200, [("content-type", "text/event-stream")])
            respond.chunk(#"data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":"stop"}]}"# + "\n\n")
            if body?["stream_options"]?["include_usage"]?.boolValue == true {
                respond.chunk(#"data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":"# + usage + "}\n\n")
            }
            respond.chunk("data: [DONE]\n\n")
            respond.end()
        } else {
            respond.json(200, #"{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":"# + usage + "}")
        }
    }

    /// A local port that refuses connections for the rest of the run: a socket is bound to it and
    /// never listens (nor closes). A port merely closed again could be taken by a server another
    /// test starts meanwhile, which would then answer in its place.
    static func closedPort() async throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw IOError(errnoCode: errno, reason: "socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw IOError(errnoCode: errno, reason: "bind") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
