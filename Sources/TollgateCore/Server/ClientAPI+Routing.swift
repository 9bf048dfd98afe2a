import NIOCore
import NIOHTTP1
import TollgatePluginABI

/// A model call between routing attempts: what the client sent, and which channels it tried.
struct PendingCall {
    var head: HTTPRequestHead
    var body: ByteBuffer
    var scan: RequestScan
    var model: String
    var operation: tollgate_type_operation
    var stream: Bool
    var marks: BillingMarks
    /// Further channels it may still try after a failed attempt.
    var retriesLeft: Int
    /// Models still to try, in order, when every channel of `model` failed (`fallbacks:`).
    var fallbacks: [String] = []
    /// Models to try, in order, when the upstream says the prompt exceeds the model's context
    /// window (`context_window_fallbacks:`).
    var contextFallbacks: [String] = []
    /// Set for routes an upstream serves at a path of its own (see `ModelCall.upstreamPath`).
    var upstreamPath: String? = nil
    var tried: Set<String> = []
    /// While every channel is at its adaptive limit, the request waits for room until then.
    var waitUntil: NIODeadline?
}

extension ClientAPI {
    /// Sends the pending call to a channel it has not tried. The first attempt throws when no
    /// channel can take it (or waits briefly for room under the adaptive limits); a failover
    /// attempt instead returns false, and the failed attempt's own answer stands.
    func attempt(failover: Bool) throws -> Bool {
        guard var pending = handler.pending else { return false }
        let embeddings = pending.operation == TOLLGATE_OPERATION_EMBEDDINGS
        let route = runtime.snapshot.router.route(pending.model, excluding: pending.tried, embeddings: embeddings)
        if case .routed = route {} else if fallBack(&pending) { return try attempt(failover: failover) }
        switch route {
        case .unknownModel:
            if failover { return false }
            throw GatewayError.notFound("model '\(pending.model)' is not served by this gateway", code: "model_not_found")
        case .unavailable(let refusal):
            if failover { return false }
            if refusal.busy, waitForRoom(&pending) { return true }
            throw Self.unavailable(refusal, model: pending.model)
        case .routed(let channel, let lease):
            pending.tried.insert(channel.name)
            handler.pending = pending
            handler.attemptLease?.end()
            handler.attemptLease = lease
            var marks = pending.marks
            if channel.config.billingTier == .batch { marks.batch = true }
            handler.routed = (channel, channel.upstreamModel(for: pending.model), marks)
            handler.translator = nil
            do {
                try reserveBudget(pending, channel: channel, marks: marks)
                let call = try inInternalDialect(ModelCall(head: pending.head, body: pending.body, scan: pending.scan,
                                                           model: pending.model, operation: pending.operation, channel: channel,
                                                           dialect: handler.dialect.abi, wantsStream: pending.stream, lease: lease,
                                                           upstreamPath: pending.upstreamPath))
                try serve(call)
            } catch {
                if failover { lease?.end(); return false }
                throw error
            }
            return true
        }
    }

    /// A key with a budget reserves the request's estimated cost once a channel, and so a price,
    /// is known (`BudgetTracker.reserve`); a model without a price is not served to it at all.
    private func reserveBudget(_ pending: PendingCall, channel: RuntimeChannel, marks: BillingMarks) throws {
        guard handler.budgetHold == nil, let key = handler.keyName, runtime.budgets.hasBudget(key: key) else { return }
        let upstreamModel = channel.upstreamModel(for: pending.model)
        let usage = BudgetEstimate.usage(body: pending.body, chat: pending.operation == TOLLGATE_OPERATION_CHAT)
        guard let cost = runtime.biller.bill(usage: usage, model: upstreamModel, channel: channel, marks: marks).cost else {
            throw GatewayError(status: 403, type: "permission_error", code: "model_not_priced",
                               message: "model '\(pending.model)' has no price on channel '\(channel.name)', and key '\(key)' "
                                   + "has a budget: it is not served unpriced (add a price for '\(upstreamModel)')")
        }
        handler.budgetHold = try runtime.budgets.reserve(key: key, estimate: cost, now: unixSeconds())
    }

    /// The next channel after a failed attempt, if retries are left and one can take it now;
    /// else the first channel of the next fallback model.
    func failover() -> Bool {
        guard var pending = handler.pending, handler.isConnected else { return false }
        if pending.retriesLeft > 0 {
            pending.retriesLeft -= 1
            handler.pending = pending
            if (try? attempt(failover: true)) == true { return true }
            guard let current = handler.pending else { return false }
            pending = current
        }
        guard fallBack(&pending) else { return false }
        return (try? attempt(failover: true)) ?? false
    }

    /// The upstream said the prompt does not fit the model: the next context-window fallback.
    func contextWindowFallback() -> Bool {
        guard var pending = handler.pending, handler.isConnected, !pending.contextFallbacks.isEmpty else { return false }
        pending.fallbacks = pending.contextFallbacks
        pending.contextFallbacks.removeFirst()
        guard fallBack(&pending) else { return false }
        return (try? attempt(failover: true)) ?? false
    }

    /// Moves the call to its next fallback model, with its retries renewed; false when none
    /// is left. The answer then names the model that served (`x-tollgate-model`), the bill is
    /// that model's, and the ledger keeps the model asked for.
    private func fallBack(_ pending: inout PendingCall) -> Bool {
        guard !pending.fallbacks.isEmpty else { return false }
        if handler.fallbackFrom == nil { handler.fallbackFrom = pending.model }
        pending.model = pending.fallbacks.removeFirst()
        pending.tried = []
        pending.retriesLeft = runtime.routing.retries
        pending.waitUntil = nil
        handler.pending = pending
        handler.model = pending.model
        runtime.logger.debug("falling back", metadata: ["from": .string(handler.fallbackFrom ?? ""), "to": .string(pending.model)])
        return true
    }

    private func serve(_ call: ModelCall) throws {
        if call.upstreamPath == ClientRoutes.completions {
            switch call.channel.backend {
            case .openAI, .template: break
            default:
                throw GatewayError.badRequest("legacy completions (/v1/completions) are served by openai channels and templates; channel "
                                              + "'\(call.channel.name)' is \(call.channel.config.provider)", code: "unsupported")
            }
        }
        switch call.channel.backend {
        case .mock:
            try MockBackend(handler: handler).serve(call)
        case .openAI(let endpoint, let basePath, let headers):
            PassthroughBackend(handler: handler).serve(call, endpoint: endpoint, basePath: basePath, baseHeaders: headers)
        case .plugin(let pluginChannel):
            PluginBackend(handler: handler).serve(call, pluginChannel: pluginChannel)
        case .template(let templateChannel):
            TemplateBackend(handler: handler).serve(call, channel: templateChannel)
        }
    }

    /// Every channel is at its adaptive concurrency limit: try again shortly, up to
    /// `health.queue_wait`. False when the wait is over.
    private func waitForRoom(_ pending: inout PendingCall) -> Bool {
        guard let loop = handler.eventLoop else { return false }
        let now = NIODeadline.now()
        let until = pending.waitUntil ?? now + TimeAmount(runtime.health.settings.queueWait)
        guard now < until else { return false }
        pending.waitUntil = until
        handler.pending = pending
        let handler = self.handler
        loop.scheduleTask(in: .milliseconds(5)) {
            guard handler.isConnected else {
                return handler.requestEnded(status: 499, channel: nil, usage: TokenUsage())
            }
            let api = ClientAPI(handler: handler)
            do { _ = try api.attempt(failover: false) } catch let error as GatewayError {
                handler.writeError(error)
                handler.requestEnded(status: error.status, channel: nil, usage: TokenUsage())
            } catch {
                handler.writeError(.internalError("\(error)"))
                handler.requestEnded(status: 500, channel: nil, usage: TokenUsage())
            }
        }
        return true
    }

    /// No channel can take the request: 429 when they are all rate limited or busy, else 503;
    /// either way with `retry-after` when it is known.
    static func unavailable(_ refusal: ModelRouter.Refusal, model: String) -> GatewayError {
        let wait = refusal.retryAt.map { max(TimeAmount.seconds(1), $0 - .now()) } ?? .seconds(1)
        let reasons = refusal.reasons.isEmpty ? "" : ": " + Set(refusal.reasons).sorted().joined(separator: "; ")
        if refusal.rateLimited || refusal.busy {
            let why = refusal.busy ? "every channel serving '\(model)' is at its concurrency limit" : "every channel serving '\(model)' is rate limited"
            return .rateLimited(why + reasons, code: "upstream_rate_limited", retryAfter: wait)
        }
        var error = GatewayError.unavailable("no channel serving '\(model)' is available now\(reasons)")
        error.headers = [("retry-after", String(max(1, (wait.nanoseconds + 999_999_999) / 1_000_000_000)))]
        return error
    }
}
