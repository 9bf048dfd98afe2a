import NIOCore
import NIOHTTP1
import TollgatePluginABI

/// One model request, from admission to its ledger row. It owns the request's state (key,
/// model, attempts, holds on limits, budget and health, the translator to the client's
/// dialect, the bill) and its life: admission (`admit`), attempts on channels and failover
/// (`ModelCall+Attempts`), the answer written in the client's dialect (`ModelCall+Answer`), and
/// `end`, the one place every request ends, whatever happened. The connection's handler only
/// reads and writes bytes. Confined to the connection's event loop.
final class ModelCall: @unchecked Sendable {
    let client: RequestHandler
    let runtime: GatewayRuntime
    let head: RequestHead
    let body: ByteBuffer
    let scan: RequestScan
    let key: ClientKey
    let operation: tollgate_type_operation
    /// The client's dialect: errors are written in it, and answers converted to it.
    let dialect: ClientDialect
    /// The model being served: the one asked for, or after a fallback the fallback's.
    private(set) var model: String
    /// The model asked for, once a fallback serves.
    private(set) var fallbackFrom: String?
    var wantsStream = false
    /// Set for routes an upstream serves at a path of its own (see `UpstreamCall.upstreamPath`).
    let upstreamPath: String?

    // Attempts: the channels tried and what is left to try.
    var tried = TriedChannels()
    var retriesLeft = 0
    /// Models still to try, in order, when every channel of `model` failed (`fallbacks:`).
    var fallbacks: [String] = []
    /// Models to try when the upstream says the prompt exceeds the context window.
    var contextFallbacks: [String] = []
    /// While every channel is at its adaptive limit, the request waits for room until then.
    var waitUntil: NIODeadline?

    // Holds, given back by `end`.
    var keyLease: KeyLease?
    var budgetHold: BudgetTracker.Hold?
    /// The current attempt's hold on its channel's health (adaptive slot, breaker trial).
    var lease: HealthLease?

    /// Where the current attempt went, for its bill.
    var routed: (channel: RuntimeChannel, upstreamModel: String, marks: BillingMarks)?
    var marks = BillingMarks()
    /// Converts answers in the internal dialect to the client's, as they are written.
    var translator: (any ResponseTranslator)?
    var exchange: ProxyExchange?
    /// The attempt whose request its upstream is building (`send`), until it is built.
    var preparing: (call: UpstreamCall, unsupported: (() -> Void)?)?
    /// A Responses request's `previous_response_id` and what storage held for it (nil: nothing).
    var previousResponse: (id: String, stored: StoredResponse?)?

    // For the record.
    private(set) var firstByte: NIODeadline?
    var upstreamNanos: Int64?
    private(set) var usage = TokenUsage()
    private(set) var bill: Bill?
    /// A stream head went out: `end` closes the stream in the client's dialect.
    var streamOpen = false
    private var ended = false

    init(client: RequestHandler, head: RequestHead, body: ByteBuffer, scan: RequestScan, key: ClientKey, model: String,
         operation: tollgate_type_operation, upstreamPath: String? = nil) {
        self.client = client
        runtime = client.runtime
        self.head = head
        self.body = body
        self.scan = scan
        self.key = key
        self.model = model
        self.operation = operation
        self.upstreamPath = upstreamPath
        dialect = client.dialect
    }

    var requestID: String { client.requestID }
    var eventLoop: EventLoop? { client.eventLoop }
    var trace: RequestTrace? { client.trace }
    /// Token counting uses no tokens: never billed.
    var billable: Bool { operation != TOLLGATE_OPERATION_COUNT_TOKENS }

    func markFirstByte() { if firstByte == nil { firstByte = .now() } }

    /// Runs a step, ending the call with the error it throws.
    func run(_ step: () throws -> Void) {
        do { try step() } catch let error as GatewayError { fail(error) } catch { fail(.internalError("\(error)")) }
    }

    // MARK: Admission

    /// The key may use the model, the gateway serves it, the budget and the key's limits admit
    /// it; a Responses continuation's stored conversation is looked up; then the first attempt.
    /// `stream`: what the URL says (Gemini), else the body.
    func admit(stream: Bool? = nil) throws {
        guard key.allows(model: model) else { throw GatewayError.forbidden("key '\(key.name)' may not use model '\(model)'") }
        let snapshot = runtime.snapshot
        guard snapshot.router.serves(model) else {
            throw GatewayError.notFound("model '\(model)' is not served by this gateway", code: "model_not_found")
        }
        wantsStream = stream ?? (operation == TOLLGATE_OPERATION_CHAT && scan.stream)
        switch runtime.budgets.admit(key: key.name, now: unixSeconds()) {
        case .deny(let error): throw error
        case .allow: try admitted(snapshot)
        case .verify: afterBudgetVerification { [self] in try admitted(snapshot) }  // a closure only when it waits
        }
    }

    /// Within budget: the key's rate limits, then the first attempt (after a Responses
    /// continuation's stored conversation, if it names one).
    private func admitted(_ snapshot: GatewayRuntime.Snapshot) throws {
        if let limiter = key.limiter {
            switch limiter.admit(estimatedTokens: body.readableBytes / 4) {
            case .success(let lease): keyLease = lease
            case .failure(let error): throw error
            }
        }
        marks = BillingMarks(batch: key.billingTier == .batch)
        retriesLeft = runtime.routing.retries
        // Closures, not `key.allows` itself: a method taken as a value copies the key (every
        // reference in it retained) into a context allocated for it.
        fallbacks = (key.fallbacks[model] ?? snapshot.fallbacks[model] ?? []).filter { key.allows(model: $0) }
        contextFallbacks = (snapshot.contextWindowFallbacks[model] ?? []).filter { key.allows(model: $0) }
        try afterPreviousResponse { [self] in _ = try attempt(failover: false) }
    }

    /// A key near the end of its budget is checked against the database's total (every
    /// instance's spend) before it is served; only such keys ever wait on storage.
    private func afterBudgetVerification(_ proceed: @escaping () throws -> Void) {
        guard stillWanted(), let loop = eventLoop else { return }
        let bound = NIOLoopBound(proceed, eventLoop: loop)
        let budgets = runtime.budgets, key = key.name
        let verified = loop.makePromise(of: GatewayError?.self)
        verified.completeWithTask { await budgets.verify(key: key, now: unixSeconds()) }
        verified.futureResult.whenSuccess { [self] refusal in
            guard stillWanted() else { return }
            run {
                if let refusal { throw refusal }
                try bound.value()
            }
        }
    }

    /// Moves the call to its next fallback model, with its retries renewed; false when none is
    /// left. The answer then names the model that served (`x-tollgate-model`), the bill is that
    /// model's, and the ledger keeps the model asked for.
    func fallBack() -> Bool {
        guard !fallbacks.isEmpty else { return false }
        if fallbackFrom == nil { fallbackFrom = model }
        model = fallbacks.removeFirst()
        tried = TriedChannels()
        retriesLeft = runtime.routing.retries
        waitUntil = nil
        runtime.logger.debug("falling back", metadata: ["from": .string(fallbackFrom ?? ""), "to": .string(model)])
        return true
    }

    // MARK: Ending

    /// True while the client is there to answer. Where a request waited (a budget check against
    /// shared storage, a plugin's blocking build, room on a channel) and its client left
    /// meanwhile, it ends here as 499, and nothing is sent upstream.
    func stillWanted() -> Bool {
        guard !client.isConnected else { return true }
        end(status: 499, channel: nil, usage: TokenUsage())
        return false
    }

    /// The client hung up: the exchange in flight, if any, decides what that costs (it ends the
    /// call at once, or after draining the answer for its usage).
    func clientClosed() { exchange?.clientClosed() }

    /// Fails before anything reached the client: it gets a complete error in its dialect.
    func fail(_ error: GatewayError) {
        if streamOpen { writeStreamError(error) } else { client.writeError(error) }
        end(status: error.status, channel: nil, usage: TokenUsage())
    }

    /// Prices the request's usage (before a complete answer's head, so it can carry the cost).
    func settle(_ usage: TokenUsage) {
        guard billable, let routed else { return }
        bill = runtime.biller.bill(usage: usage, model: routed.upstreamModel, channel: routed.channel, marks: routed.marks)
    }

    /// The one place a model call ends, normally or not: the open stream is closed in the
    /// client's dialect, every hold is given back, the bill is charged to the key's budget and
    /// the record goes to the ledger. Ending twice is a no-op.
    func end(status: Int, channel: String?, usage: TokenUsage) {
        guard !ended else { return }
        ended = true
        exchange = nil
        if streamOpen && client.isConnected {
            if let tail = translator?.streamEnd(), !tail.isEmpty { client.writeBody(tail) }
            client.writeEnd()
        }
        lease?.end()
        lease = nil
        keyLease?.finish(usage: usage)
        keyLease = nil
        self.usage = usage
        if bill == nil { settle(usage) }
        let cost = bill?.cost
        if let hold = budgetHold {
            runtime.budgets.settle(hold, cost: cost, now: client.startedWall / 1000)
            budgetHold = nil
        } else if let cost {
            runtime.budgets.charge(key: key.name, cost: cost, now: client.startedWall / 1000)
        }
        client.requestEnded(status: status, channel: channel, call: self)
    }
}
