import TollgatePluginKit

/// What an AWS event-stream message means, by its `:message-type` header.
public enum EventStreamEvent: Sendable, Hashable {
    /// `event`: a modelled event, named by `:event-type` (ConverseStream: `messageStart`,
    /// `contentBlockStart`, `contentBlockDelta`, `contentBlockStop`, `messageStop`, `metadata`;
    /// InvokeModelWithResponseStream: `chunk`; SageMaker: `PayloadPart`).
    case event(type: String, payload: [UInt8])
    /// `exception`: a modelled error in mid-stream (e.g. `throttlingException`,
    /// `modelStreamErrorException`), named by `:exception-type`; `message` is read from the JSON
    /// payload's `message` (or `Message`), else the payload text.
    case exception(type: String, message: String, payload: [UInt8])
    /// `error`: an unmodelled service error, from `:error-code` and `:error-message`.
    case error(code: String, message: String)
}

extension EventStreamMessage {
    public func interpreted() throws(EventStreamError) -> EventStreamEvent {
        guard let messageType = string(":message-type") else {
            throw .unexpectedMessage("no string header :message-type")
        }
        switch messageType {
        case "event":
            guard let type = string(":event-type") else { throw .unexpectedMessage("an event without a string :event-type") }
            return .event(type: type, payload: payload)
        case "exception":
            guard let type = string(":exception-type") else {
                throw .unexpectedMessage("an exception without a string :exception-type")
            }
            return .exception(type: type, message: exceptionMessage, payload: payload)
        case "error":
            guard let code = string(":error-code") else { throw .unexpectedMessage("an error without a string :error-code") }
            return .error(code: code, message: string(":error-message") ?? "")
        default:
            throw .unexpectedMessage("unknown :message-type \"\(messageType)\"")
        }
    }

    private var exceptionMessage: String {
        if let json = try? JSONParser.parse(payload),
           let message = json["message"]?.stringValue ?? json["Message"]?.stringValue {
            return message
        }
        return String(decoding: payload, as: UTF8.self)
    }

    // MARK: Builders, for mock upstreams and tests

    /// An `event` message with a JSON payload, as Bedrock sends them.
    public static func event(_ type: String, payload: [UInt8], contentType: String = "application/json") -> EventStreamMessage {
        EventStreamMessage(headers: [":message-type": .string("event"), ":event-type": .string(type),
                                     ":content-type": .string(contentType)], payload: payload)
    }

    /// An `exception` message whose payload is `{"message": ...}`.
    public static func exception(_ type: String, message: String) -> EventStreamMessage {
        let payload = JSONValue.object(["message": .string(message)]).serialized()
        return EventStreamMessage(headers: [":message-type": .string("exception"), ":exception-type": .string(type),
                                            ":content-type": .string("application/json")], payload: payload)
    }

    public static func error(code: String, message: String) -> EventStreamMessage {
        EventStreamMessage(headers: [":message-type": .string("error"), ":error-code": .string(code),
                                     ":error-message": .string(message)])
    }
}

/// InvokeModelWithResponseStream's `chunk` event: the model's own event (for Anthropic models,
/// one Messages API streaming event as JSON) base64-encoded in `{"bytes": "..."}`. Bedrock may
/// add other members (e.g. a `p` padding string); they are ignored.
public enum BedrockChunk {
    public static let eventType = "chunk"

    /// The decoded bytes of a `chunk` payload.
    public static func decode(_ payload: [UInt8]) throws(EventStreamError) -> [UInt8] {
        let json: JSONValue
        do { json = try JSONParser.parse(payload) } catch {
            throw .unexpectedMessage("a chunk payload is not JSON (\(error))")
        }
        guard let encoded = json["bytes"]?.stringValue else {
            throw .unexpectedMessage("a chunk payload has no string member \"bytes\"")
        }
        guard let bytes = Base64.decode(encoded.utf8) else {
            throw .unexpectedMessage("a chunk's \"bytes\" is not valid base64")
        }
        return bytes
    }

    /// A `chunk` event message carrying `bytes`.
    public static func message(_ bytes: [UInt8]) -> EventStreamMessage {
        .event(eventType, payload: JSONValue.object(["bytes": .string(Base64.encode(bytes))]).serialized())
    }
}
