/// Channel and model health as Prometheus gauges, read from the same view `/admin/health` shows.
enum HealthGauges {
    static func render(_ report: JSONValue, label q: (String) -> String) -> String {
        var out = """
        # HELP tollgate_channel_breaker_open Whether a channel's circuit breaker is open (1) or not (0).
        # TYPE tollgate_channel_breaker_open gauge
        # HELP tollgate_model_available Whether a (channel, model) can take requests now.
        # TYPE tollgate_model_available gauge
        # HELP tollgate_model_status The (channel, model) state (1 for the current one).
        # TYPE tollgate_model_status gauge
        # HELP tollgate_model_adaptive_limit The adaptive concurrency limit of a (channel, model).
        # TYPE tollgate_model_adaptive_limit gauge

        """
        for channel in report["channels"]?.arrayValue ?? [] {
            let name = q(channel["name"]?.stringValue ?? "")
            let open = channel["breaker"]?["state"]?.stringValue == "open" ? 1 : 0
            out += "tollgate_channel_breaker_open{channel=\(name)} \(open)\n"
            for model in channel["models"]?.arrayValue ?? [] {
                let labels = "channel=\(name),model=\(q(model["model"]?.stringValue ?? ""))"
                out += "tollgate_model_available{\(labels)} \(model["available"]?.boolValue == true ? 1 : 0)\n"
                out += "tollgate_model_status{\(labels),status=\(q(model["status"]?.stringValue ?? ""))} 1\n"
                out += "tollgate_model_adaptive_limit{\(labels)} \(model["adaptive_limit"]?["limit"]?.int64Value ?? 0)\n"
            }
        }
        return out
    }
}
