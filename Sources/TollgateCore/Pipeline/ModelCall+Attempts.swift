import NIOCore
import NIOHTTP1
import TollgatePluginABI

/// Attempts: routing to a channel not tried yet, the budget reservation, the conversion to the
/// channel's dialect, and failover to the next channel or fallback model.
extension ModelCall {
    /// Sends the call to a channel it has not tried. The first attempt throws when no channel
    /// can take it (or waits briefly for room under the adaptive limits); a failover attempt
    /// instead returns false, and the failed attempt's own answer stands.
    func attempt(failover: Bool) throws -> Bool {
        let embeddings = operation == TOLLGATE_OPERATION_EMBEDDINGS
        let route = runtime.snapshot.router.route(model, excluding: tried, embeddings: embeddings)
        if case .routed = route {} else if fallBack() { return try attempt(failover: failover) }
        switch route {
        case .unknownModel:
            if failover { return false }
            throw GatewayError.notFound("model '\(model)' is not served by this gateway", code: "model_not_found")
        case .unavailable(let refusal):
            if failover { return false }
            if refusal.busy, waitForRoom() { return true }
            throw Self.unavailable(refusal, model: model)
        case .routed(let channel, let lease):
            tried.insert(channel.name)
            self.lease?.end()
            self.lease = lease
            var marks = self.marks
            if channel.config.billingTier == .batch { marks.batch = true }
            routed = (channel, channel.upstreamModel(for: model), marks)
            translator = nil
            trace?.attempt(channel: channel, model: model, operation: operation)
            do {
                try reserveBudget(channel: channel, marks: marks)
                let call = try inChannelDialect(UpstreamCall(head: head, body: body, scan: scan, model: model, operation: operation,
                                                             channel: channel, dialect: dialect.abi, wantsStream: wantsStream,
                                                             upstreamPath: upstreamPath))
                try send(call, via: Self.upstream(for: call))
            } catch {
                if failover { lease?.end(); return false }
                throw error
            }
            return true
        }
    }

    /// The channel's kind of upstream.
    static func upstream(for call: UpstreamCall) throws -> any Upstream {
        if call.upstreamPath == ClientRoutes.completions {
            switch call.channel.backend {
            case .openAI, .template: break
            default:
                throw GatewayError.badRequest("legacy completions (/v1/completions) are served by openai channels and templates; channel "
                                              + "'\(call.channel.name)' is \(call.channel.config.provider)", code: "unsupported")
            }
        }
        switch call.channel.backend {
        case .mock: return MockUpstream()
        case .openAI(let upstream): return upstream
        case .plugin(let channel): return PluginUpstream(pluginChannel: channel)
        case .template(let channel): return TemplateUpstream(channel: channel)
        }
    }

    /// Builds the attempt's request and starts its exchange. `unsupported`: what to do instead
    /// when the upstream cannot build this operation (token counting estimates).
    func send(_ call: UpstreamCall, via upstream: any Upstream, unsupported: (() -> Void)? = nil) throws {
        guard stillWanted() else { return }
        // Held on the call, so the callback captures nothing but `self` (a closure's context is an
        // allocation a request). One attempt is prepared at a time: the next starts only from this
        // one's exchange. A second callback finds nothing and does nothing.
        preparing = (call, unsupported)
        upstream.prepare(call, for: self) { [self] prepared in
            guard let (call, unsupported) = preparing.take(), stillWanted(), let loop = eventLoop else { return }
            switch prepared {
            case .success(let request):
                let network: Bool
                if case .network = request.target { network = true } else { network = false }
                let pool = runtime.pools.pool(for: loop)
                if network && pool == nil { return }
                let exchange = ProxyExchange(call: self, attempt: call, request: request, lease: lease, pool: pool,
                                             settings: runtime.upstreamSettings, maxResponseBytes: runtime.limits.maxResponseBytes)
                self.exchange = exchange
                exchange.start()
            case .failure(let error) where error.code == PluginUpstream.unsupported && unsupported != nil:
                unsupported?()
            case .failure(let error):
                fail(error)
            }
        }
    }

    /// A key with a budget reserves the request's estimated cost once a channel, and so a price,
    /// is known (`BudgetTracker.reserve`); a model without a price is not served to it at all.
    private func reserveBudget(channel: RuntimeChannel, marks: BillingMarks) throws {
        guard budgetHold == nil, runtime.budgets.hasBudget(key: key.name) else { return }
        let upstreamModel = channel.upstreamModel(for: model)
        let usage = BudgetEstimate.usage(body: body, chat: operation == TOLLGATE_OPERATION_CHAT)
        guard let cost = runtime.biller.bill(usage: usage, model: upstreamModel, channel: channel, marks: marks).cost else {
            throw GatewayError(status: 403, type: "permission_error", code: "model_not_priced",
                               message: "model '\(model)' has no price on channel '\(channel.name)', and key '\(key.name)' "
                                   + "has a budget: it is not served unpriced (add a price for '\(upstreamModel)')")
        }
        budgetHold = try runtime.budgets.reserve(key: key.name, estimate: cost, now: unixSeconds())
    }

    /// After a failed attempt that wrote nothing: hands the call to the next channel (or with
    /// `contextWindow`, its next context-window fallback). True when another attempt took it.
    func failover(from failed: ProxyExchange, contextWindow: Bool = false) -> Bool {
        guard exchange === failed, client.isConnected else { return false }
        exchange = nil
        if contextWindow ? contextWindowFallback() : nextChannel() { return true }
        if exchange == nil { exchange = failed }
        return false
    }

    /// The next channel, if retries are left and one can take it now; else the first channel of
    /// the next fallback model.
    private func nextChannel() -> Bool {
        if retriesLeft > 0 {
            retriesLeft -= 1
            if (try? attempt(failover: true)) == true { return true }
        }
        guard fallBack() else { return false }
        return (try? attempt(failover: true)) ?? false
    }

    /// The upstream said the prompt does not fit the model: the next context-window fallback.
    private func contextWindowFallback() -> Bool {
        guard !contextFallbacks.isEmpty else { return false }
        fallbacks = contextFallbacks
        contextFallbacks.removeFirst()
        guard fallBack() else { return false }
        return (try? attempt(failover: true)) ?? false
    }

    /// Every channel is at its adaptive concurrency limit: try again shortly, up to
    /// `health.queue_wait`. False when the wait is over.
    private func waitForRoom() -> Bool {
        guard let loop = eventLoop else { return false }
        let now = NIODeadline.now()
        let until = waitUntil ?? now + TimeAmount(runtime.health.settings.queueWait)
        guard now < until else { return false }
        waitUntil = until
        loop.scheduleTask(in: .milliseconds(5)) { [self] in
            guard stillWanted() else { return }
            run { _ = try attempt(failover: false) }
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
