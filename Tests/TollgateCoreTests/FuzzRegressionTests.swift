import Testing
@testable import TollgateCore

/// Inputs the fuzz targets in Fuzz/ found, kept as tests (see scripts/fuzz).
@Suite struct FuzzRegressionTests {
    // FuzzRequest: the scan that routes and authorizes a request read one `model` while the
    // document (and an upstream's JSON parser) could read another.
    @Test func aRepeatedRoutingFieldIsRefused() {
        for body in [#"{"model":"cheap","messages":[],"model":"dear"}"#, #"{"stream":null,"x":1,"stream":null}"#,
                     #"{"stream_options":{},"stream_options":{"include_usage":true}}"#,
                     #"{"service_tier":"default","service_tier":"priority"}"#, #"{"service_tier":"a","servic\u0065_tier":"b"}"#] {
            #expect(throws: JSONError.self) { try RequestScan.scan(Array(body.utf8)) }
        }
    }

    @Test func aKeySpelledWithEscapesIsReadAsThatKey() throws {
        let scan = try RequestScan.scan(Array(#"{"mod\u0065l":"m1","str\u0065am":true}"#.utf8))
        #expect(scan.model == "m1")
        #expect(scan.stream)
        #expect(throws: JSONError.self) { try RequestScan.scan(Array(#"{"model":"cheap","mod\u0065l":"dear"}"#.utf8)) }
    }

    // FuzzJSONPath: a key with a backslash printed in a form that parsed to another key.
    @Test func aPathWithBackslashesPrintsInAFormThatParsesBack() throws {
        let path = try JSONPath(#"$['od\\y']['it\'s']"#)
        #expect(path.segments == [.key(#"od\y"#), .key("it's")])
        #expect(try JSONPath(JSONPath.format(path.segments)).segments == path.segments)
    }
}
