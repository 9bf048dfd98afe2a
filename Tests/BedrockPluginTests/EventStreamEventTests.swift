import Foundation
import Testing
@testable import BedrockPlugin

@Suite struct EventStreamEventTests {
    @Test func interpretsConverseStreamEvents() throws {
        let kinds = try Sample.messages.map { try $0.interpreted() }
        guard case .event(let type, let payload) = kinds[1] else {
            Issue.record("not an event: \(kinds[1])")
            return
        }
        #expect(type == "contentBlockDelta")
        #expect(payload == Array(#"{"contentBlockIndex":0,"delta":{"text":"Hel"},"p":"ab"}"#.utf8))
        #expect(kinds.compactMap { if case .event(let t, _) = $0 { t } else { nil } }
            == ["messageStart", "contentBlockDelta", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata"])
    }

    @Test func interpretsExceptionsAfterAFramingRoundTrip() throws {
        var decoder = EventStreamDecoder()
        let frame = try EventStreamEncoder.encode(.exception("throttlingException", message: "Too many requests, please wait."))
        let message = try #require(try decoder.feed(frame).first)
        #expect(message.string(":content-type") == "application/json")
        #expect(try message.interpreted() == .exception(type: "throttlingException", message: "Too many requests, please wait.",
                                                        payload: Array(#"{"message":"Too many requests, please wait."}"#.utf8)))
    }

    @Test func readsTheExceptionMessageWhateverItsShape() throws {
        func exception(_ payload: String) -> EventStreamMessage {
            EventStreamMessage(headers: [":message-type": .string("exception"), ":exception-type": .string("ModelStreamError")],
                               payload: Array(payload.utf8))
        }
        #expect(try exception(#"{"Message":"upper"}"#).interpreted() == .exception(type: "ModelStreamError", message: "upper", payload: Array(#"{"Message":"upper"}"#.utf8)))
        #expect(try exception("plain text").interpreted() == .exception(type: "ModelStreamError", message: "plain text", payload: Array("plain text".utf8)))
        #expect(try exception(#"{"other":1}"#).interpreted() == .exception(type: "ModelStreamError", message: #"{"other":1}"#, payload: Array(#"{"other":1}"#.utf8)))
    }

    @Test func interpretsErrors() throws {
        #expect(try EventStreamMessage.error(code: "InternalFailure", message: "boom").interpreted()
            == .error(code: "InternalFailure", message: "boom"))
        let noMessage = EventStreamMessage(headers: [":message-type": .string("error"), ":error-code": .string("X")])
        #expect(try noMessage.interpreted() == .error(code: "X", message: ""))
    }

    @Test func refusesMessagesWithoutTheirTypeHeaders() {
        let cases: [EventStreamMessage] = [
            EventStreamMessage(),
            EventStreamMessage(headers: [":message-type": .int32(1)]),
            EventStreamMessage(headers: [":message-type": .string("event")]),
            EventStreamMessage(headers: [":message-type": .string("exception")]),
            EventStreamMessage(headers: [":message-type": .string("error")]),
            EventStreamMessage(headers: [":message-type": .string("ping")]),
        ]
        for message in cases {
            let error = #expect(throws: EventStreamError.self) { try message.interpreted() }
            if case .unexpectedMessage? = error {} else { Issue.record("\(message): \(String(describing: error))") }
        }
    }

    // MARK: InvokeModelWithResponseStream chunks

    static let anthropicEvent = #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi ✓"}}"#

    @Test func decodesABase64Chunk() throws {
        let encoded = Data(Self.anthropicEvent.utf8).base64EncodedString()
        let payload = Array(#"{"bytes":"\#(encoded)","p":"abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"}"#.utf8)
        let frame = try EventStreamEncoder.encode(.event("chunk", payload: payload))
        var decoder = EventStreamDecoder()
        let message = try #require(try decoder.feed(frame).first)
        guard case .event("chunk", let chunkPayload) = try message.interpreted() else {
            Issue.record("not a chunk event")
            return
        }
        #expect(try BedrockChunk.decode(chunkPayload) == Array(Self.anthropicEvent.utf8))
    }

    @Test func buildsChunksTheDecoderReads() throws {
        let message = BedrockChunk.message(Array(Self.anthropicEvent.utf8))
        #expect(message.string(":event-type") == "chunk")
        #expect(try BedrockChunk.decode(message.payload) == Array(Self.anthropicEvent.utf8))
        let json = try JSONSerialization.jsonObject(with: Data(message.payload)) as? [String: String]
        #expect(json?["bytes"].flatMap { Data(base64Encoded: $0) } == Data(Self.anthropicEvent.utf8))
    }

    @Test func refusesBadChunks() {
        for payload in ["not json", #"{"bytes":1}"#, #"{"other":"eyJ9"}"#, #"{"bytes":"e30=!"}"#, #"{"bytes":"e"}"#] {
            let error = #expect(throws: EventStreamError.self) { try BedrockChunk.decode(Array(payload.utf8)) }
            if case .unexpectedMessage? = error {} else { Issue.record("\(payload): \(String(describing: error))") }
        }
    }
}
