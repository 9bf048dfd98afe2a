import Foundation
import Testing
import TestSupport
@testable import TollgateShared

@Suite struct JSONParserTests {
    @Test func parsesEveryKindOfValue() throws {
        let value = try JSONParser.parse(#" {"a": [1, -2.5e3, true, false, null], "b": {"c": "d\n\u00e9\ud83d\ude00"}} "#)
        #expect(value["a"]?[0] == .number("1"))
        #expect(value["a"]?[1] == .number("-2.5e3"))
        #expect(value["a"]?[2] == .bool(true))
        #expect(value["a"]?[4] == .null)
        #expect(value["b"]?["c"]?.stringValue == "d\né😀")
    }

    /// Containers inside containers, beside each other and empty, each get exactly their own
    /// members in order (the parser stacks them while it reads, then copies each out).
    @Test func nestedContainersKeepExactlyTheirOwnMembers() throws {
        let value = try JSONParser.parse(#"{"a":[1,{"b":[2,3],"c":{}},[]],"d":{"e":[{"f":1},{"g":[[],[4]]}],"h":2},"i":[]}"#)
        let expected: JSONValue = .object([
            .init("a", .array([.number("1"), .object([.init("b", .array([.number("2"), .number("3")])), .init("c", .object([]))]), .array([])])),
            .init("d", .object([
                .init("e", .array([.object([.init("f", .number("1"))]), .object([.init("g", .array([.array([]), .array([.number("4")])]))])])),
                .init("h", .number("2")),
            ])),
            .init("i", .array([])),
        ])
        #expect(value == expected)
        // Each container holds its own exactly-sized storage (none shares the parser's stacks).
        #expect(value.objectValue.map { $0.capacity == $0.count } == true)
        #expect(value["a"]?.arrayValue.map { $0.capacity == $0.count } == true)
        let wide = "[" + (0..<40).map { #"{"k\#($0)":\#($0)}"# }.joined(separator: ",") + "]"  // past the stack's first capacity
        #expect(try JSONParser.parse(wide).arrayValue?.enumerated().allSatisfy { $1 == .object([.init("k\($0)", .number("\($0)"))]) } == true)
    }

    @Test func roundTripsThroughTheWriter() throws {
        let text = #"{"k":"quote \" backslash \\ tab \t ctl \u0001","n":[0,1.5,{}],"e":[]}"#
        let value = try JSONParser.parse(text)
        #expect(try JSONParser.parse(value.serialized()) == value)
    }

    @Test func theWriterEscapesExactlyWhatJSONRequires() {
        #expect(JSONValue.quoted("") == Array(#""""#.utf8))
        #expect(JSONValue.quoted("plain é 😀 /") == Array(#""plain é 😀 /""#.utf8))
        #expect(JSONValue.quoted("\"q\" \\ \n\r\t\u{01}\u{1f}end") == Array(#""\"q\" \\ \n\r\t\u0001\u001fend""#.utf8))
        #expect(JSONValue.quoted("\"") == Array(#""\"""#.utf8))
        #expect(JSONValue.object([.init("k\n", .string("v\u{0}"))]).serialized() == Array(#"{"k\n":"v\u0000"}"#.utf8))
    }

    /// Strings are escaped eight bytes at a time where they are plain: at every length and
    /// offset, the result is what escaping one byte at a time gives; integers are written whole.
    @Test func theWriterEscapesAtEveryOffsetAndWritesEveryInteger() {
        func byByte(_ s: String) -> [UInt8] {
            var out: [UInt8] = [0x22]
            for byte in s.utf8 {
                switch byte {
                case 0x22: out += Array(#"\""#.utf8)
                case 0x5C: out += Array(#"\\"#.utf8)
                case 0x0A: out += Array(#"\n"#.utf8)
                case 0x0D: out += Array(#"\r"#.utf8)
                case 0x09: out += Array(#"\t"#.utf8)
                case ..<0x20: out += Array(String(format: "\\u%04x", byte).utf8)
                default: out.append(byte)
                }
            }
            return out + [0x22]
        }
        let pieces = ["a", "bcdefgh", "\"", "\\", "\n", "\u{01}", "\u{1f}", " ", "é", "😀", "\u{7f}", "~", "\t"]
        var random = SplitMix(seed: 0x35ca_9e)
        var checked = 0
        for _ in 0..<2000 {
            let text = (0..<Int.random(in: 0...24, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
            #expect(JSONValue.quoted(text) == byByte(text), "\(text.debugDescription)")
            checked += 1
        }
        #expect(checked == 2000)
        for number: Int64 in [0, 7, -7, 10, -10, 99, 100, 1_000_000_007, .max, .min, .min + 1] {
            var out = JSONWriter()
            out.int(number)
            #expect(out.bytes == Array(String(number).utf8))
        }
    }

    /// A count read off its digits is what the tree's `int64Value` reads, at every edge of
    /// Int64, for fractions, exponents and values that are not numbers; the parser ends past the
    /// value either way, and bad JSON throws as the tree's parse does.
    @Test func integersReadOffTheirDigitsAsTheTreeReadsThem() throws {
        var texts = ["0", "-0", "7", "-7", "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
                     "18446744073709551615", "18446744073709551616", "99999999999999999999999", "1.0", "1e3", "-1E+2", "0.5", "12.",
                     "\"12\"", "null", "true", "[1]", "{\"a\":1}", "-", "01", "1x", " 42 ", "--1"]
        var random = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let digits = (0..<Int.random(in: 1...21, using: &random)).map { _ in String(Int.random(in: 0...9, using: &random)) }.joined()
            texts.append((Bool.random(using: &random) ? "-" : "") + (digits.count > 1 && digits.first == "0" ? "1" + digits.dropFirst() : digits))
        }
        for text in texts {
            let document = "[" + text + ",5]"
            let tree = try? JSONParser.parse(document)
            // .failure when the reader threw: `try?` would flatten a thrown error and a nil count into one.
            let read = Result { () throws -> Int64? in
                try Array(document.utf8).withUnsafeBytes { bytes in
                    var parser = JSONParser(bytes)
                    parser.position = 1
                    let count = try parser.readInt64()
                    try parser.expect(UInt8(ascii: ","))
                    return count
                }
            }
            guard case .array(let items)? = tree else {
                if case .success = read { Issue.record("\(text) is not JSON, yet it was read") }
                continue
            }
            guard case .success(let count) = read else { Issue.record("\(text) is JSON, yet reading it threw"); continue }
            #expect(count == items[0].int64Value, "\(text)")
        }
    }

    /// The member-by-member writer places commas at every level, around empty and nested
    /// containers, and writes what the tree writer writes for the same values.
    @Test func theStreamingWriterMatchesTheTreeWriter() throws {
        var out = JSONWriter()
        out.beginObject()
        out.key("a"); out.beginArray(); out.int(1); out.beginObject(); out.endObject(); out.beginArray(); out.endArray(); out.null(); out.endArray()
        out.key("b"); out.string("q\"\n")
        out.key("c"); out.value(try JSONParser.parse(#"{"x":[true,{}]}"#))
        out.key("d"); out.int(-9_223_372_036_854_775_807)
        out.endObject()
        let expected: JSONValue = .object([
            .init("a", .array([.number("1"), .object([]), .array([]), .null])), .init("b", .string("q\"\n")),
            .init("c", .object([.init("x", .array([.bool(true), .object([])]))])), .init("d", .int(-9_223_372_036_854_775_807)),
        ])
        #expect(out.bytes == expected.serialized())
        var empty = JSONWriter()
        empty.beginArray(); empty.endArray()
        #expect(empty.bytes == Array("[]".utf8))
        // A writer that starts small grows as it goes (its buffer doubles, or takes what one write needs).
        let long = String(repeating: "tête \u{1}\"\\ ", count: 40)
        var small = JSONWriter(capacity: 1)
        small.beginArray()
        for n in 0..<30 { small.beginObject(); small.key("n"); small.int(Int64(n)); small.key("s"); small.string(long); small.endObject() }
        small.string(utf8: Array(long.utf8)); small.bool(true); small.value(.string(long))
        small.endArray()
        let members: [JSONValue] = (0..<30).map { .object([.init("n", .int(Int64($0))), .init("s", .string(long))]) }
        #expect(small.bytes == JSONValue.array(members + [.string(long), .bool(true), .string(long)]).serialized())
    }

    @Test(arguments: [
        ("", "unexpected end of JSON"),
        ("{", "unexpected end of JSON"),
        ("{\"a\" 1}", "unexpected character '1'"),
        ("[1,]", "unexpected character ']'"),
        ("{\"a\":1,}", "expected a string key"),
        ("01", "unexpected data after the JSON value"),
        ("1.", "invalid number"),
        ("\"abc", "unterminated string"),
        ("\"a\\x\"", "invalid escape"),
        ("\"\u{01}\"", "control character in string"),
        ("tru", "unexpected end of JSON"),
        ("nul!", "unexpected character 'n'"),
        ("{} {}", "unexpected data after the JSON value"),
    ])
    func refusesMalformedText(text: String, message: String) {
        #expect(throws: JSONError.self) { try JSONParser.parse(text) }
        do { _ = try JSONParser.parse(text) } catch let error as JSONError {
            #expect(error.message == message)
        } catch { Issue.record("unexpected error \(error)") }
    }

    @Test func refusesInvalidUTF8() throws {
        for bytes: [UInt8] in [[0x22, 0xFF, 0x22], [0x22, 0xC3, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xC0, 0xAF, 0x22]] {
            #expect(throws: JSONError.self) { try JSONParser.parse(bytes) }
        }
        #expect(try JSONParser.parse([0x22, 0xC3, 0xA9, 0x22]) == .string("é"))
    }

    @Test func boundsNestingDepth() throws {
        let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect(throws: JSONError.self) { try JSONParser.parse(deep) }
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect((try? JSONParser.parse(fine)) != nil)
    }
}

@Suite struct RequestScanTests {
    @Test func readsModelStreamAndOptions() throws {
        let body = #"{"messages":[{"role":"user","content":"hi \"model\""}],"model":"gpt-4o","stream":true,"stream_options":{"include_usage":false,"x":1}}"#
        let scan = try RequestScan.scan(Array(body.utf8))
        #expect(scan.model == "gpt-4o")
        #expect(scan.stream)
        #expect(scan.includeUsage == false)
        let bytes = Array(body.utf8)
        #expect(String(decoding: bytes[scan.modelRange!], as: UTF8.self) == "\"gpt-4o\"")
        #expect(String(decoding: bytes[scan.streamOptionsRange!], as: UTF8.self) == #"{"include_usage":false,"x":1}"#)
        #expect(scan.bodyStart == 1)
    }

    @Test func decodesEscapedModelNames() throws {
        #expect(try RequestScan.scan(Array(#"{"model":"a\/b\u0041"}"#.utf8)).model == "a/bA")
    }

    @Test func refusesWhatIsNotARequestObject() {
        for body in ["[]", "\"x\"", #"{"model":5}"#, #"{"model":"a","stream":"yes"}"#, #"{"model":"a"} x"#, "{"] {
            #expect(throws: JSONError.self, "\(body)") { try RequestScan.scan(Array(body.utf8)) }
        }
    }

    @Test func eachRoutingMemberIsKnownByItsExactNameAndMayNotRepeat() throws {
        for name in ["model", "stream", "stream_options", "service_tier"] {
            let value = name == "model" ? #""a""# : name == "stream" ? "false" : name == "stream_options" ? "{}" : #""x""#
            #expect(throws: JSONError.self, "\(name)") { try RequestScan.scan(Array("{\"\(name)\":\(value),\"\(name)\":\(value)}".utf8)) }
        }
        // Names of the same length, a prefix, a case change or a longer name are other members.
        let others = #"{"modem":1,"Model":2,"streak":3,"stream_optionz":4,"service_tiers":5,"mode":6,"model":"m","models":[1]}"#
        let scan = try RequestScan.scan(Array(others.utf8))
        #expect(scan.model == "m" && !scan.stream && scan.streamOptionsRange == nil)
        #expect(try RequestScan.scan(Array(#"{"stre\u0061m":true,"m":1}"#.utf8)).stream)
    }

    @Test func anEmptyObjectIsARequestWithoutModel() throws {
        #expect(try RequestScan.scan(Array("{}".utf8)).model == nil)
        #expect(try RequestScan.scan(Array(" { } ".utf8)).model == nil)
    }

    @Test func missingModelIsNil() throws {
        let scan = try RequestScan.scan(Array(#"{"messages":[]}"#.utf8))
        #expect(scan.model == nil)
        #expect(!scan.stream)
    }

    @Test func findsOneTopLevelMember() {
        let body = Array(#"{"choices":[{"usage":"no"}],"usage":{"prompt_tokens":3}}"#.utf8)
        let usage = body.withUnsafeBytes { RequestScan.member("usage", in: $0) }
        #expect(usage?["prompt_tokens"]?.int64Value == 3)
        let missing = body.withUnsafeBytes { RequestScan.member("nope", in: $0) }
        #expect(missing == nil)
    }

    @Test func findsMembersInTheOrderAskedTheFirstOfARepeatedOne() {
        let names = RequestScan.MemberNames("service_tier", "usage", "absent")
        let body = Array(#"{"usage":{"prompt_tokens":3},"x":[1,{"service_tier":"no"}],"service_tier":"priority","usage":9}"#.utf8)
        let found = body.withUnsafeBytes { RequestScan.members(names, in: $0) }
        #expect(found.count == 3)
        #expect(found[0]?.stringValue == "priority")
        #expect(found[1]?["prompt_tokens"]?.int64Value == 3)
        #expect(found[2] == nil)
        for broken in ["[1,2]", #"{"usage":"#, "", #"{"usage":{"prompt_tokens":3}"#] {
            let partial = Array(broken.utf8).withUnsafeBytes { RequestScan.members(names, in: $0) }
            #expect(partial.count == 3 && partial[0] == nil && partial[2] == nil, "\(broken)")
        }
    }

    @Test func locatesEveryTopLevelMember() throws {
        let body = Array(#"{ "a" : 1, "m\u006fdel":"x" ,"c":{"model":2}}"#.utf8)
        let (members, bodyStart) = try RequestScan.members(body)
        #expect(bodyStart == 1)
        #expect(members.map(\.key) == ["a", "model", "c"])
        #expect(members.map { String(decoding: body[$0.range], as: UTF8.self) } == [#""a" : 1"#, #""m\u006fdel":"x""#, #""c":{"model":2}"#])
        #expect(members.map { String(decoding: body[$0.valueRange], as: UTF8.self) } == ["1", #""x""#, #"{"model":2}"#])
        #expect(try RequestScan.members(Array(" {} ".utf8)).members.isEmpty)
        for bad in ["[]", "{", #"{"a":}"#, #"{"a":1} x"#] {
            #expect(throws: JSONError.self, "\(bad)") { try RequestScan.members(Array(bad.utf8)) }
        }
    }
}
