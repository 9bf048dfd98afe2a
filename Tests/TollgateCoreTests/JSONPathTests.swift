import Testing
@testable import TollgateCore

/// The mapping engine: every path form, arrays, wildcards, negative indices, missing fields.
@Suite struct JSONPathTests {
    static let doc = try! JSONParser.parse(#"""
    {"a":{"b":{"c":1}},"list":[{"x":1,"y":"one"},{"x":2,"y":"two"},{"x":3}],"odd key":{"v":true},"n":null,"s":"text"}
    """#)

    func value(_ path: String) throws -> JSONValue { try JSONPath(path).value(in: Self.doc) }

    @Test func everyPathFormReadsTheSameField() throws {
        #expect(try value("$.a.b.c") == .number("1"))
        #expect(try value("a.b.c") == .number("1"))
        #expect(try value("$['a']['b'].c") == .number("1"))
        #expect(try value(#"$["odd key"].v"#) == .bool(true))
        #expect(try value("$.list[0].y") == .string("one"))
        #expect(try value("list[1].x") == .number("2"))
        #expect(try value("$.list[-1].x") == .number("3"))
        #expect(try value("$.list[-3].y") == .string("one"))
        #expect(try value("$.n") == .null)
        #expect(try JSONPath("$.a.b.c").segments == [.key("a"), .key("b"), .key("c")])
        #expect(try JSONPath("$.list[*].x").segments == [.key("list"), .wildcard, .key("x")])
        #expect(try JSONPath("with-dash_1").segments == [.key("with-dash_1")])
    }

    @Test func missesNameTheDeepestPlaceAndWhy() {
        func miss(_ path: String) -> JSONPathMiss? {
            do { _ = try JSONPath(path).value(in: Self.doc); return nil } catch let error as JSONPathMiss { return error } catch { return nil }
        }
        #expect(miss("$.a.b.missing")?.description == "no value at $.a.b.missing: $.a.b has no field 'missing'")
        #expect(miss("$.list[3].x")?.description == "no value at $.list[3].x: $.list has no element [3] (the array has 3)")
        #expect(miss("$.list[-4]")?.reason == "has no element [-4] (the array has 3)")
        #expect(miss("$.s.deeper")?.description == "no value at $.s.deeper: $.s expected an object, found a string")
        #expect(miss("$.a[0]")?.reason == "expected an array, found an object")
        #expect(miss("$.list[2].y")?.place == "$.list[2]")
        #expect(miss("$.list[*].x")?.reason == "[*] selects many values where one is needed")
    }

    @Test func badSyntaxIsRefusedWithItsPosition() {
        func problem(_ path: String) -> JSONPathError? {
            do { _ = try JSONPath(path); return nil } catch { return error }
        }
        #expect(problem("$.a..b")?.message == "'..' (recursive descent) is not supported")
        #expect(problem("$.a[0")?.message == "expected ']'")
        #expect(problem("$.a[x]")?.offset == 4)
        #expect(problem("$.a[x]")?.message == "expected an index, '*' or a quoted name inside '[]'")
        #expect(problem("$.")?.message == "expected a name after '.'")
        #expect(problem("$")?.message.hasPrefix("names no field") == true)
        #expect(problem("$.a.*")?.message == "'.*' is not supported; use [*] on an array")
        #expect(problem("$a")?.message == "expected '.' or '[' but found 'a'")
        #expect(problem("$['open")?.message == "unclosed quoted name")
        #expect(problem("$.a b")?.description == "bad path '$.a b' at character 4: expected '.' or '[' but found ' '")
    }

    @Test func wildcardsSelectEveryElementAndSkipMissingFields() throws {
        let found = try JSONPath("$.list[*].y").matches(in: Self.doc)
        #expect(found.map(\.value) == [.string("one"), .string("two")])
        #expect(found.map(\.segments) == [[.key("list"), .index(0), .key("y")], [.key("list"), .index(1), .key("y")]])
        #expect(try JSONPath("$.nothing[*].y").matches(in: Self.doc).isEmpty)
        #expect(try JSONPath("$.list[-1].x").matches(in: Self.doc).map(\.segments) == [[.key("list"), .index(2), .key("x")]])
    }

    @Test func setCreatesObjectsAndWritesInsideArrays() throws {
        var doc = Self.doc
        try JSONPath("$.new.deep.field").set(.string("v"), in: &doc)
        #expect(doc["new"]?["deep"]?["field"] == .string("v"))
        try JSONPath("$.list[*].z").set(.bool(true), in: &doc)
        #expect(doc["list"]?.arrayValue?.allSatisfy { $0["z"] == .bool(true) } == true)
        try JSONPath("$.list[-1].x").set(.int(30), in: &doc)
        #expect(doc["list"]?[2]?["x"] == .number("30"))
        try JSONPath("$.a.b.c").set(.int(5), in: &doc)
        #expect(doc["a"]?["b"]?["c"] == .number("5"))
        #expect(throws: JSONPathMiss.self) { try JSONPath("$.s.x").set(.null, in: &doc) }
        #expect(throws: JSONPathMiss.self) { try JSONPath("$.list[7]").set(.null, in: &doc) }
    }

    @Test func removeDeletesFieldsElementsAndIgnoresMissing() throws {
        var doc = Self.doc
        try JSONPath("$.list[*].y").remove(from: &doc)
        #expect(doc["list"]?[0]?["y"] == nil && doc["list"]?[0]?["x"] == .number("1"))
        try JSONPath("$.list[-1]").remove(from: &doc)
        #expect(doc["list"]?.arrayValue?.count == 2)
        try JSONPath("$.absent.deeper").remove(from: &doc)
        try JSONPath("$['odd key']").remove(from: &doc)
        #expect(doc["odd key"] == nil)
    }

    @Test func opsCopyRenameSetDeleteAtAnyDepth() throws {
        var doc = try JSONParser.parse(#"{"top_p":0.5,"messages":[{"role":"user","content":"a","name":"n"},{"role":"assistant","content":"b"}]}"#)
        let ops: [MappingOp] = [
            .rename(from: try JSONPath("$.top_p"), to: try JSONPath("$.p")),
            .rename(from: try JSONPath("$.stop"), to: try JSONPath("$.stop_sequences")),  // absent: skipped
            .rename(from: try JSONPath("$.messages[*].content"), to: try JSONPath("$.messages[*].text")),
            .copy(from: try JSONPath("$.messages[0].role"), to: try JSONPath("$.meta.first_role")),
            .set(try JSONPath("$.safety_mode"), .string("OFF")),
            .delete(try JSONPath("$.messages[*].name")),
        ]
        for op in ops { try op.apply(to: &doc) }
        #expect(doc.jsonString == #"{"messages":[{"role":"user","text":"a"},{"role":"assistant","text":"b"}],"p":0.5,"meta":{"first_role":"user"},"safety_mode":"OFF"}"#)
    }
}
