import Logging
import NIOHTTP1
import OTel
import ServiceLifecycle
import Synchronization
import Tracing

/// The gateway's tracer: swift-otel's OTLP/HTTP exporter behind a batch processor, built only
/// when `TracingSettings.endpoint` is set (the runtime holds nil otherwise). Not the process-global
/// `InstrumentationSystem`: each gateway (tests run several in one process) has its own.
final class RequestTracing: Sendable {
    let tracer: any Tracer
    private let services: ServiceGroup
    private let running = Mutex<Task<Void, Never>?>(nil)

    /// Throws when the OTEL_* variables ask for what this build cannot do (gRPC, a bad URL).
    static func make(_ settings: TracingSettings, logger: Logger) throws -> RequestTracing? {
        guard let endpoint = settings.endpoint else { return nil }
        if let (variable, value) = settings.unsupported {
            throw ConfigError(file: "environment", key: variable, message: "'\(value)' is not supported by this build (only OTLP/HTTP)")
        }
        guard let (target, _) = UpstreamEndpoint.parse(endpoint), !target.host.isEmpty else {
            throw ConfigError(file: "environment", key: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                              message: "'\(endpoint)' is not an http:// or https:// URL")
        }
        var configuration = OTel.Configuration.default
        configuration.serviceName = settings.serviceName
        configuration.diagnosticLogger = .custom(logger)
        configuration.diagnosticLogLevel = .warning
        configuration.metrics.enabled = false
        configuration.logs.enabled = false
        configuration.traces.otlpExporter.endpoint = endpoint
        configuration.traces.batchSpanProcessor.scheduleDelay = settings.scheduleDelay
        configuration.traces.batchSpanProcessor.maxQueueSize = settings.maxQueueSize
        configuration.traces.batchSpanProcessor.maxExportBatchSize = min(512, settings.maxQueueSize)
        configuration.traces.batchSpanProcessor.exportTimeout = .seconds(10)
        do {
            let backend = try OTel.makeTracingBackend(configuration: configuration)
            return RequestTracing(tracer: backend.factory,
                                  services: ServiceGroup(services: [backend.service], gracefulShutdownSignals: [], logger: logger))
        } catch {
            throw ConfigError(file: "environment", key: "OTEL_*", message: "tracing cannot start: \(error)")
        }
    }

    private init(tracer: any Tracer, services: ServiceGroup) {
        self.tracer = tracer
        self.services = services
    }

    /// Starts exporting in the background.
    func start(logger: Logger) {
        let services = self.services
        running.withLock { task in
            guard task == nil else { return }
            task = Task {
                do { try await services.run() } catch { logger.warning("tracing stopped", metadata: ["error": "\(error)"]) }
            }
        }
    }

    /// Sends the spans still queued and stops; an exporter that cannot deliver within `flushLimit`
    /// (a receiver gone: the HTTP client keeps reconnecting until its timeout) is cut off, so it
    /// never holds up the gateway's exit.
    func stop(flushLimit: Duration = .seconds(2)) async {
        guard let task = running.withLock({ $0 }) else { return }
        await services.triggerGracefulShutdown()
        let deadline = Task {
            try await Task.sleep(for: flushLimit)
            task.cancel()
        }
        await task.value
        deadline.cancel()
    }

    /// The span of a client request, continuing the client's trace when it sent a valid `traceparent`.
    func begin(_ head: RequestHead, route: String) -> RequestTrace {
        var context = ServiceContext.topLevel
        let headers = TraceHeaders(head.fields)
        if headers.traceparent != nil { tracer.extract(headers, into: &context, using: TraceHeadersExtractor()) }
        return RequestTrace(tracer: tracer, parent: context, method: head.method.rawValue, route: route,
                            path: head.path)
    }
}
