import NIOHTTP1
import TollgatePluginABI
import Tracing

/// One client request's spans: the request (server), a child per routing attempt (failover,
/// fallback), and under each attempt a child per upstream call (client), whose context goes
/// upstream as `traceparent`. Confined to the request's event loop, like its `RequestHandler`.
/// Attributes follow the OpenTelemetry GenAI conventions; the key is recorded by name only.
final class RequestTrace: @unchecked Sendable {
    /// What the current attempt's upstream calls are about.
    private struct Target {
        var channel: String
        var system: String
        var model: String
        var operation: String
    }

    private let tracer: any Tracer
    private let request: any Span
    private var attempt: (any Span)?
    private var target: Target?
    private var call: (any Span)?
    private var callAnswered = false
    private var attempts = 0

    /// `route` is the route's name (`chat`, `embeddings`...): the span's name stays low-cardinality;
    /// `path` is without the query (which may carry a key).
    init(tracer: any Tracer, parent: ServiceContext, method: String, route: String, path: Substring) {
        self.tracer = tracer
        request = tracer.startSpan("\(method) \(route)", context: parent, ofKind: .server)
        request.attributes["http.request.method"] = method
        request.attributes["http.route"] = route
        request.attributes["url.path"] = String(path)
    }

    /// A channel was picked for `model`: a new attempt, the one before it (if any) having failed.
    func attempt(channel: RuntimeChannel, model: String, operation: tollgate_type_operation) {
        endAttempt(failed: true)
        attempts += 1
        let target = Target(channel: channel.name, system: Self.system(channel.config.provider), model: model,
                            operation: Self.operationName(operation))
        let span = tracer.startSpan("attempt \(channel.name)", context: request.context, ofKind: .internal)
        span.attributes["tollgate.attempt"] = attempts
        describe(span, target)
        attempt = span
        self.target = target
        if attempts == 1 {
            request.attributes["gen_ai.request.model"] = model
            request.attributes["gen_ai.operation.name"] = target.operation
        }
    }

    /// An upstream request is about to go out: its span starts, and `head` gets its `traceparent`.
    func upstreamCall(_ head: UpstreamHead, host: String) -> UpstreamHead {
        endCall(failed: true)  // a resend on a fresh connection: the first try failed
        guard let attempt, let target else { return head }
        let span = tracer.startSpan("\(target.operation) \(target.model)", context: attempt.context, ofKind: .client)
        span.attributes["server.address"] = host
        describe(span, target)
        call = span
        callAnswered = false
        var injected = HTTPHeaders()
        tracer.inject(span.context, into: &injected, using: UpstreamHeadersInjector())
        var head = head
        for (name, value) in injected {  // in place of any the channel or client set
            if head.headers.contains(name: name) { head.headers.remove(name: name) }
            head.lines = head.lines.removing(name)  // the channel's own lines stay shared unless they hold it
            head.extra.replaceOrAdd(name: name, value: value)
        }
        return head
    }

    /// The upstream answered with `status` (the call goes on while its body is read).
    func upstreamAnswered(status: Int) {
        callAnswered = true
        call?.attributes["http.response.status_code"] = status
        if status >= 400 { call?.setStatus(SpanStatus(code: .error)) }
    }

    /// The request is over: everything ends, the request span (and the serving call) carrying the
    /// outcome. `responseModel` is the upstream model that served.
    func end(_ record: RequestRecord, responseModel: String?) {
        for span in [request, call].compactMap({ $0 }) {
            if let channel = record.channel {
                span.attributes["tollgate.channel"] = channel
                span.attributes["gen_ai.response.model"] = responseModel
            }
            span.attributes["gen_ai.usage.input_tokens"] = record.usage.prompt
            span.attributes["gen_ai.usage.output_tokens"] = record.usage.completion
            span.attributes["tollgate.cost"] = record.bill.cost?.decimal
            span.attributes["tollgate.cost.currency"] = record.bill.cost?.currency
        }
        request.attributes["http.response.status_code"] = record.status
        request.attributes["tollgate.key.name"] = record.keyName
        request.attributes["tollgate.fallback_from"] = record.fallbackFrom
        if record.status >= 500 || record.status == 499 { request.setStatus(SpanStatus(code: .error)) }
        endAttempt(failed: record.channel == nil || record.status >= 500)
        request.end()
    }

    private func describe(_ span: any Span, _ target: Target) {
        span.attributes["tollgate.channel"] = target.channel
        span.attributes["gen_ai.system"] = target.system
        span.attributes["gen_ai.request.model"] = target.model
        span.attributes["gen_ai.operation.name"] = target.operation
    }

    private func endCall(failed: Bool) {
        guard let call else { return }
        if failed && !callAnswered { call.setStatus(SpanStatus(code: .error)) }
        call.end()
        self.call = nil
    }

    private func endAttempt(failed: Bool) {
        endCall(failed: failed)
        guard let attempt else { return }
        if failed { attempt.setStatus(SpanStatus(code: .error)) }
        attempt.end()
        self.attempt = nil
        target = nil
    }

    /// `gen_ai.operation.name`: the convention's `chat` and `embeddings`; `count_tokens` otherwise.
    static func operationName(_ operation: tollgate_type_operation) -> String {
        switch operation {
        case TOLLGATE_OPERATION_EMBEDDINGS: "embeddings"
        case TOLLGATE_OPERATION_COUNT_TOKENS: "count_tokens"
        default: "chat"
        }
    }

    /// `gen_ai.system` of a provider: the convention's names where one exists, else the provider id.
    static func system(_ provider: String) -> String {
        switch provider {
        case "claude": "anthropic"
        case "gemini": "gcp.gemini"
        case "vertex": "gcp.vertex_ai"
        case "bedrock", "sagemaker": "aws.bedrock"
        default: provider
        }
    }
}
