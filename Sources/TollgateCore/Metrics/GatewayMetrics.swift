import Synchronization

/// Prometheus metrics, fed by every finished request (it is one of the runtime's recorders) and
/// rendered as text at `GET /metrics`. Aggregated under one short lock per request; rendering
/// copies the tables, so a scrape never holds up traffic for long.
public final class GatewayMetrics: RequestRecorder {
    struct RequestLabels: Hashable { var route: String; var model: String; var channel: String; var status: Int }
    struct ModelLabels: Hashable { var model: String; var channel: String }
    struct CostLabels: Hashable { var model: String; var currency: String }

    /// All a served model's requests on one channel add to.
    /// Tokens, cost and unpriced requests are labelled by model alone, summed over channels when
    /// rendered.
    struct ModelSeries {
        /// Token kinds in the order they are rendered.
        static let tokenKinds = ["cache_creation", "cache_read", "completion", "prompt", "reasoning"]

        var latency = Histogram()
        var firstByte: Histogram?
        var tokens = [UInt64](repeating: 0, count: tokenKinds.count)
        var cost: [String: Int64] = [:]  // currency -> nano units
        var unpriced: UInt64 = 0

        /// Adds a request's token counts (kinds with none add nothing), held at the counter's
        /// maximum: the counts are an upstream's words.
        mutating func add(_ u: TokenUsage) {
            func count(_ kind: Int, _ value: Int64?) {
                if let value, value > 0 { tokens[kind].addSaturating(UInt64(value)) }
            }
            count(0, u.cacheCreation)
            count(1, u.cacheRead)
            count(2, u.completion)
            count(3, u.prompt)
            count(4, u.reasoning)
        }
    }

    /// Labels numbered in the order they first came. The last labels looked up are remembered:
    /// a request like the one before (most are) finds its number by comparing them instead of
    /// hashing three strings (two lookups were 1,300 instructions a request).
    struct Numbering<Labels: Hashable> {
        private(set) var numbers: [Labels: Int] = [:]
        private var last: (labels: Labels, number: Int)?

        /// The labels' number: a new one is the count of numbers before.
        mutating func number(_ labels: Labels) -> Int {
            if let last, last.labels == labels { return last.number }
            let number = numbers[labels] ?? numbers.count
            if number == numbers.count { numbers[labels] = number }
            last = (labels, number)
            return number
        }
    }

    struct Tables {
        var requestNumbers = Numbering<RequestLabels>()
        var requests: [UInt64] = []  // by request number
        var modelNumbers = Numbering<ModelLabels>()
        var models: [ModelSeries] = []  // by model number
        var overhead = Histogram()

        /// Each labels with what they count, in no order.
        var requestsByLabels: [(RequestLabels, UInt64)] { requestNumbers.numbers.map { ($0.key, requests[$0.value]) } }
        var modelsByLabels: [(ModelLabels, ModelSeries)] { modelNumbers.numbers.map { ($0.key, models[$0.value]) } }
    }

    private let tables = Mutex(Tables())
    /// Gauges read at scrape time (ledger queue depth, requests in flight, channel states, ...).
    private let gauges = Mutex<[@Sendable () -> String]>([])

    public init() {}

    public func addGauges(_ render: @escaping @Sendable () -> String) { gauges.withLock { $0.append(render) } }

    public func record(_ r: RequestRecord) {
        // A model is a label only once a channel served it: names a client made up (refused as
        // unknown) would each add a series. Routes come from the fixed `RouteTable`.
        let channel = r.channel ?? "", model = r.channel == nil ? "" : r.model ?? ""
        tables.withLock { t in
            let request = t.requestNumbers.number(RequestLabels(route: r.route, model: model, channel: channel, status: r.status))
            if request == t.requests.count { t.requests.append(0) }
            t.requests[request] += 1
            guard r.channel != nil else { return }
            if let upstream = r.upstreamNanos { t.overhead.observe(nanos: max(r.latencyNanos - upstream, 0)) }
            let series = t.modelNumbers.number(ModelLabels(model: model, channel: channel))
            if series == t.models.count { t.models.append(ModelSeries()) }
            Self.add(r, to: &t.models[series])
        }
    }

    private static func add(_ r: RequestRecord, to series: inout ModelSeries) {
        series.latency.observe(nanos: r.latencyNanos)
        if let ttfb = r.firstByteNanos {
            if series.firstByte == nil { series.firstByte = Histogram() }
            series.firstByte?.observe(nanos: ttfb)
        }
        let u = r.usage
        if !u.isEmpty { series.add(u) }
        if let cost = r.bill.cost {
            series.cost[cost.currency, default: 0].addSaturating(cost.nanoUnits)
        } else if !u.isEmpty {
            series.unpriced += 1
        }
    }

    /// The Prometheus text exposition format (version 0.0.4).
    public func render() -> String {
        let t = tables.withLock { $0 }
        var out = ""
        out += "# HELP tollgate_requests_total Requests finished, by route, model, channel and status.\n# TYPE tollgate_requests_total counter\n"
        for (l, n) in t.requestsByLabels.sorted(by: { "\($0.0)" < "\($1.0)" }) {
            out += "tollgate_requests_total{route=\(q(l.route)),model=\(q(l.model)),channel=\(q(l.channel)),status=\"\(l.status)\"} \(n)\n"
        }
        out += "# HELP tollgate_request_duration_seconds Time from request to the end of the answer.\n# TYPE tollgate_request_duration_seconds histogram\n"
        let models = t.modelsByLabels.sorted { "\($0.0)" < "\($1.0)" }
        for (l, series) in models {
            series.latency.render(name: "tollgate_request_duration_seconds", labels: "model=\(q(l.model)),channel=\(q(l.channel))", into: &out)
        }
        out += "# HELP tollgate_time_to_first_byte_seconds Time from request to the upstream's first byte.\n# TYPE tollgate_time_to_first_byte_seconds histogram\n"
        for (l, series) in models {
            series.firstByte?.render(name: "tollgate_time_to_first_byte_seconds", labels: "model=\(q(l.model)),channel=\(q(l.channel))", into: &out)
        }
        out += "# HELP tollgate_overhead_seconds The gateway's own time per request: total minus time waiting on the upstream.\n# TYPE tollgate_overhead_seconds histogram\n"
        t.overhead.render(name: "tollgate_overhead_seconds", labels: "", into: &out)
        var tokens: [String: [UInt64]] = [:], cost: [CostLabels: Int64] = [:], unpriced: [String: UInt64] = [:]
        let none = [UInt64](repeating: 0, count: ModelSeries.tokenKinds.count)
        for (l, series) in models {
            for (kind, n) in series.tokens.enumerated() { tokens[l.model, default: none][kind].addSaturating(n) }
            for (currency, nano) in series.cost { cost[CostLabels(model: l.model, currency: currency), default: 0].addSaturating(nano) }
            if series.unpriced > 0 { unpriced[l.model, default: 0] += series.unpriced }
        }
        out += "# HELP tollgate_tokens_total Tokens metered, by model and kind.\n# TYPE tollgate_tokens_total counter\n"
        for (model, counts) in tokens.sorted(by: { $0.key < $1.key }) {
            for (kind, n) in zip(ModelSeries.tokenKinds, counts) where n > 0 { out += "tollgate_tokens_total{model=\(q(model)),kind=\"\(kind)\"} \(n)\n" }
        }
        out += "# HELP tollgate_cost_total Money billed, by model and currency.\n# TYPE tollgate_cost_total counter\n"
        for (l, nano) in cost.sorted(by: { "\($0.key)" < "\($1.key)" }) {
            out += "tollgate_cost_total{model=\(q(l.model)),currency=\"\(l.currency)\"} \(Money.decimal(nano))\n"
        }
        out += "# HELP tollgate_unpriced_requests_total Requests with usage but no price.\n# TYPE tollgate_unpriced_requests_total counter\n"
        for (model, n) in unpriced.sorted(by: { $0.key < $1.key }) { out += "tollgate_unpriced_requests_total{model=\(q(model))} \(n)\n" }
        for gauge in gauges.withLock({ $0 }) { out += gauge() }
        return out
    }

    func q(_ value: String) -> String { Self.quote(value) }

    /// A label value, quoted and escaped as the format asks.
    static func quote(_ value: String) -> String {
        "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n") + "\""
    }
}
