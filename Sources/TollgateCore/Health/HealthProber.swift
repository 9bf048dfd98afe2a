import Foundation
import Logging
import NIOCore
import Synchronization
import TollgatePluginABI

/// Recovers what failures took out: every `probe_interval`, each (channel, model) that is not
/// Available (or whose channel is hurt) gets one small real request — the channel's own chat
/// call with `max_tokens: 1` (or a one-word embedding) built by its backend — once its breaker
/// lets a trial through. The answer is recorded like any other, so a success restores the
/// state and closes the breaker, and a failure keeps it out. Probes are not billed.
final class HealthProber: Sendable {
    typealias Send = @Sendable (SideRequest) async throws -> SideResponse
    let runtime: GatewayRuntime
    let logger: Logger
    private let send: Send
    private let task = Mutex<Task<Void, Never>?>(nil)

    init(runtime: GatewayRuntime, logger: Logger, send: @escaping Send) {
        self.runtime = runtime
        self.logger = logger
        self.send = send
    }

    func start(interval: Duration) {
        let made = Task { [self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard !Task.isCancelled else { return }
                await probeAll()
            }
        }
        task.withLock { $0?.cancel(); $0 = made }
    }

    func stop() { task.withLock { $0?.cancel(); $0 = nil } }

    /// One round; returns how many probes were sent.
    @discardableResult
    func probeAll() async -> Int {
        var sent = 0
        for channel in runtime.snapshot.router.channels {
            for (model, embeddings) in channel.health.modelsToProbe(now: .now()) {
                guard let lease = channel.health.probeLease(model: model, now: .now()) else { continue }
                sent += 1
                let outcome = await probe(channel, model: model, embeddings: embeddings)
                lease.report(outcome)
                lease.end()
                logger.debug("probe", metadata: ["channel": .string(channel.name), "model": .string(model), "result": .string(outcome.summary)])
            }
        }
        return sent
    }

    private func probe(_ channel: RuntimeChannel, model: String, embeddings: Bool) async -> AttemptOutcome {
        let started = ContinuousClock.now
        do {
            guard let request = try Self.request(for: channel, model: model, embeddings: embeddings) else {
                return .success(latency: .zero, limits: RateLimitInfo())  // the built-in mock is always up
            }
            let answer = try await send(request)
            if (200..<300).contains(answer.status) {
                return .success(latency: ContinuousClock.now - started, limits: channel.successLimits(HeadFields(answer.headers), model: model))
            }
            return channel.classify(status: answer.status, headers: answer.headers, body: answer.body, model: model).outcome
        } catch let error as AdaptorError {
            return .unreachable("probe could not be built: \(error.message)")
        } catch {
            return .unreachable("probe failed: \(error)")
        }
    }

    /// The probe request a channel's backend builds; nil for the mock.
    static func request(for channel: RuntimeChannel, model: String, embeddings: Bool) throws -> SideRequest? {
        let body = Array((embeddings
            ? #"{"model":\#(JSONValue.string(model).jsonString),"input":"ping"}"#
            : #"{"model":\#(JSONValue.string(model).jsonString),"messages":[{"role":"user","content":"ping"}],"max_tokens":1}"#).utf8)
        let timeout = Duration.seconds(30)
        switch channel.backend {
        case .mock:
            return nil
        case .openAI(let upstream):
            let path = channel.azure?.path(chat: !embeddings, model: model, apiVersion: channel.apiVersion)
                ?? (embeddings ? upstream.embeddingsPath : upstream.chatPath)
            return SideRequest(method: "POST", url: upstream.endpoint.description + path,
                               headers: upstream.baseLines.headers.filter { $0.name.lowercased() != "host" }.map { ($0.name, $0.value) },
                               body: body, timeout: timeout)
        case .template(let template):
            guard let path = template.path(embeddings ? .embeddings : .chat, model: model) else { return nil }
            var document = try JSONParser.parse(body)
            if !embeddings {
                for op in template.template.request { try? op.apply(to: &document) }
            }
            return SideRequest(method: "POST", url: template.endpoint.description + path,
                               headers: template.lines.headers.filter { $0.name.lowercased() != "host" }.map { ($0.name, $0.value) },
                               body: document.serialized(), timeout: timeout)
        case .plugin(let plugin):
            let spec = try plugin.buildRequest(operation: embeddings ? TOLLGATE_OPERATION_EMBEDDINGS : TOLLGATE_OPERATION_CHAT,
                                               dialect: TOLLGATE_DIALECT_OPENAI, model: model, body: ByteBuffer(bytes: body), stream: false,
                                               clientHeaders: [])
            return SideRequest(method: spec.method, url: spec.url, headers: spec.headers.filter { $0.0.lowercased() != "host" },
                               body: Array(buffer: spec.body), timeout: timeout)
        }
    }
}
