/// A Prometheus histogram's counts (cumulative buckets, sum, count) for one label set.
struct Histogram: Sendable {
    /// Upper bounds in seconds: 1 ms to 60 s.
    static let bounds: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

    /// Observations by the first bound they are within (made cumulative when rendered, so an
    /// observation increments one count, not every bucket above it).
    var buckets = [UInt64](repeating: 0, count: Histogram.bounds.count)
    var count: UInt64 = 0
    var sumNanos: Int64 = 0

    mutating func observe(nanos: Int64) {
        let seconds = Double(nanos) / 1e9
        if let i = Self.bounds.firstIndex(where: { seconds <= $0 }) { buckets[i] += 1 }
        count += 1
        sumNanos += nanos
    }

    func render(name: String, labels: String, into out: inout String) {
        let separator = labels.isEmpty ? "" : ","
        var cumulative: UInt64 = 0
        for (i, bound) in Self.bounds.enumerated() {
            cumulative += buckets[i]
            out += "\(name)_bucket{\(labels)\(separator)le=\"\(bound)\"} \(cumulative)\n"
        }
        out += "\(name)_bucket{\(labels)\(separator)le=\"+Inf\"} \(count)\n"
        out += "\(name)_sum{\(labels)} \(Double(sumNanos) / 1e9)\n"
        out += "\(name)_count{\(labels)} \(count)\n"
    }
}
