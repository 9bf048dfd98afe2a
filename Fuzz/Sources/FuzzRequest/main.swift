import FuzzSupport
@testable import TollgateCore

/// Client request parsing: the one-pass scan that reads `model`/`stream` from a passthrough body,
/// the full JSON parser (its validator must agree with it, and what it builds must serialize and
/// parse back the same), and the Anthropic and Gemini request conversions to the internal dialect.
func fuzzRequest(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes = FuzzInput(start, count).bytes
    bytes.withUnsafeBytes { raw in
        let scan = try? RequestScan.scan(raw)
        _ = try? RequestScan.members(raw)
        _ = RequestScan.member("model", in: raw)
        let parsed = try? JSONParser.parse(raw)
        invariant((JSONParser.validate(raw) == nil) == (parsed != nil), "validate and parse disagree")
        if let scan, let range = scan.modelRange {
            invariant(range.lowerBound >= 0 && range.upperBound <= raw.count, "model range outside the body")
        }
        guard let parsed else { return }
        invariant((try? JSONParser.parse(parsed.serialized())) == parsed, "serialize/parse round trip")
        if let scan, case .object(let members) = parsed {
            // What the gateway routes and authorizes on must be what an upstream JSON parser
            // reads from the same bytes (one `model`, whatever escapes spell its key).
            let models = members.filter { $0.key == "model" }
            invariant(models.count == (scan.model == nil ? 0 : 1) && models.last?.value.stringValue == scan.model,
                      "scan read model \(scan.model ?? "nil"), the document has \(models.map(\.value))")
            let streams = members.filter { $0.key == "stream" }
            invariant(streams.count <= 1 && (streams.last?.value.boolValue ?? false) == scan.stream, "scan and document disagree on stream")
        }
        _ = try? ClientDialect.anthropic.requestToIR(parsed, model: "m", stream: false)
        _ = try? ClientDialect.gemini(sse: true).requestToIR(parsed, model: "m", stream: true)
    }
    return 0
}

runFuzzer(fuzzRequest)
