import NIOCore

/// The health view (`GET /admin/health`) of one channel.
extension ChannelHealth {
    /// `configured`: upstream models the channel names, shown even before any traffic.
    func report(configured: [String], now: NIODeadline) -> JSONValue {
        withState { state in
            var names = Set(state.models.keys)
            names.formUnion(configured)
            let models = names.sorted().map { name -> JSONValue in
                let health = state.models[name] ?? ModelHealth(settings: settings)
                var members: [JSONValue.Member] = [
                    .init("model", .string(name)),
                    .init("status", .string(health.status.rawValue)),
                    .init("available", .bool(health.usable(now: now) && health.breaker.wouldAdmit(now: now) && state.breaker.wouldAdmit(now: now))),
                    .init("score", .int(health.score(now: now))),
                    .init("breaker", Self.breakerJSON(health.breaker, now: now)),
                    .init("adaptive_limit", .object([
                        "phase": .string(health.adaptive.phase.rawValue), "limit": .int(health.adaptive.limit),
                        "in_flight": .int(health.adaptive.inFlight), "ceiling": .int(health.adaptive.ceiling),
                    ])),
                    .init("success_rate", .number(String(format: "%.3f", health.successRate))),
                    .init("latency_ms", health.latencyMillis.map { .number(String(format: "%.1f", $0)) } ?? .null),
                    .init("latency_p50_ms", health.recentLatencies.median.map { .number(String(format: "%.1f", $0)) } ?? .null),
                    .init("requests", .int(health.requests)), .init("failures", .int(health.failures)),
                    .init("last_error", health.lastError.map(JSONValue.string) ?? .null),
                    .init("last_error_at", health.lastErrorAt.map { .int($0) } ?? .null),
                ]
                if let retryAt = health.retryAt, retryAt > now {
                    members.append(.init("retry_in_ms", .int((retryAt - now).nanoseconds / 1_000_000)))
                }
                if let limits = health.limits { members.append(.init("rate_limit", Self.limitsJSON(limits))) }
                if let deprecation = health.deprecation { members.append(.init("deprecation", .string(deprecation))) }
                if let successor = state.modelOverrides[name] { members.append(.init("replaced_by", .string(successor))) }
                if let proposal = state.proposals[name] { members.append(.init("proposed_successor", .string(proposal.value))) }
                return .object(members)
            }
            var members: [JSONValue.Member] = [
                .init("name", .string(name)),
                .init("breaker", Self.breakerJSON(state.breaker, now: now)),
                .init("balance", .string(state.balance.rawValue)),
                .init("auth_failed", .bool(state.authFailed)),
                .init("last_error", state.lastError.map(JSONValue.string) ?? .null),
                .init("last_error_at", state.lastErrorAt.map { .int($0) } ?? .null),
            ]
            if let version = state.apiVersion { members.append(.init("api_version", .string(version))) }
            if let proposal = state.proposals[""] { members.append(.init("proposed_api_version", .string(proposal.value))) }
            members.append(.init("models", .array(models)))
            return .object(members)
        }
    }

    static func breakerJSON(_ breaker: CircuitBreaker, now: NIODeadline) -> JSONValue {
        var members: [JSONValue.Member] = [.init("state", .string(breaker.state.name)),
                                           .init("consecutive_failures", .int(breaker.consecutiveFailures)),
                                           .init("times_opened", .int(breaker.opened))]
        if case .open(let until) = breaker.state, until > now {
            members.append(.init("half_open_in_ms", .int((until - now).nanoseconds / 1_000_000)))
        }
        return .object(members)
    }

    static func limitsJSON(_ limits: RateLimitInfo) -> JSONValue {
        func int(_ n: Int?) -> JSONValue { n.map { .int($0) } ?? .null }
        func ms(_ d: Duration?) -> JSONValue { d.map { .int(Int64($0.components.seconds * 1000 + $0.components.attoseconds / 1_000_000_000_000_000)) } ?? .null }
        return .object(["limit_requests": int(limits.requestLimit), "remaining_requests": int(limits.requestsRemaining),
                        "reset_requests_ms": ms(limits.requestsReset), "limit_tokens": int(limits.tokenLimit),
                        "remaining_tokens": int(limits.tokensRemaining), "reset_tokens_ms": ms(limits.tokensReset),
                        "retry_after_ms": ms(limits.retryAfter), "region": limits.region.map(JSONValue.string) ?? .null])
    }
}
