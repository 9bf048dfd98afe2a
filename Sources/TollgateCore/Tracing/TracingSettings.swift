/// Where spans go: the standard OpenTelemetry variables, read once at start. Without an endpoint
/// tracing is off and the request path makes no span at all.
public struct TracingSettings: Sendable {
    /// The OTLP/HTTP URL spans are posted to (`.../v1/traces`); nil turns tracing off.
    public var endpoint: String?
    /// `service.name` of every span (`OTEL_SERVICE_NAME`).
    public var serviceName = "tollgate"
    /// How long finished spans wait to be sent in a batch, and how many may wait: past that
    /// they are dropped, so an exporter that cannot deliver never grows memory.
    public var scheduleDelay: Duration = .seconds(5)
    public var maxQueueSize = 2048
    /// An OTEL_* variable naming what swift-otel would stop the process for (a gRPC exporter,
    /// which this build leaves out; a sampler it lacks): refused at start instead.
    public var unsupported: (variable: String, value: String)?

    public init(endpoint: String? = nil) { self.endpoint = endpoint }

    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is used as it is; `OTEL_EXPORTER_OTLP_ENDPOINT` is a
    /// base the traces path is added to. `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`
    /// keep tracing off.
    public init(environment: [String: String]) {
        if let name = environment["OTEL_SERVICE_NAME"], !name.isEmpty { serviceName = name }
        let refused = [("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", ["grpc"]), ("OTEL_EXPORTER_OTLP_PROTOCOL", ["grpc"]),
                       ("OTEL_TRACES_SAMPLER", ["jaeger_remote", "parentbased_jaeger_remote", "xray"])]
        for (variable, values) in refused {
            if let value = environment[variable], values.contains(value.lowercased()) { unsupported = (variable, value) }
        }
        guard environment["OTEL_SDK_DISABLED"]?.lowercased() != "true",
              environment["OTEL_TRACES_EXPORTER"]?.lowercased() != "none" else { return }
        if let traces = environment["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"], !traces.isEmpty {
            endpoint = traces
        } else if let base = environment["OTEL_EXPORTER_OTLP_ENDPOINT"], !base.isEmpty {
            endpoint = base.hasSuffix("/") ? base + "v1/traces" : base + "/v1/traces"
        }
    }
}
