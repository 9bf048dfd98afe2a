import Testing
import TollgatePluginKit
@testable import BedrockPlugin

/// Channels with a fixed clock and settings, and helpers to read what they produce.
enum PluginFixture {
    /// 2024-07-03T09:46:40Z.
    static let unixSeconds: Int64 = 1_720_000_000
    static let clock: @Sendable () -> Int64 = { unixSeconds * 1_000_000_000 }
    static let accessKeyID = "AKIDEXAMPLE"
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

    static func settingsJSON(baseURL: String? = nil, region: String? = "us-east-1", token: String? = nil,
                             options: [String: String] = [:]) -> JSONValue {
        var credentials: [JSONValue.Member] = [.init("access_key_id", .string(accessKeyID)), .init("secret_access_key", .string(secret))]
        if let token { credentials.append(.init("session_token", .string(token))) }
        var opts: [JSONValue.Member] = options.sorted { $0.key < $1.key }.map { .init($0.key, .string($0.value)) }
        if let region { opts.append(.init("region", .string(region))) }
        var members: [JSONValue.Member] = [.init("name", .string("aws")), .init("provider", .string("bedrock"))]
        if let baseURL { members.append(.init("base_url", .string(baseURL))) }
        members.append(.init("credentials", .object(credentials)))
        members.append(.init("options", .object(opts)))
        return .object(members)
    }

    static func settings(_ provider: AWSProvider, baseURL: String? = nil, region: String? = "us-east-1", token: String? = nil,
                         options: [String: String] = [:]) throws -> AWSChannelSettings {
        try AWSChannelSettings(settingsJSON(baseURL: baseURL, region: region, token: token, options: options), provider: provider, clock: clock)
    }

    static func bedrock(baseURL: String? = nil) throws -> BedrockChannel { BedrockChannel(try settings(.bedrock, baseURL: baseURL)) }

    static func sagemaker(options: [String: String] = [:]) throws -> SageMakerChannel {
        SageMakerChannel(try settings(.sagemaker, options: options))
    }

    static func json(_ text: String) throws -> JSONValue { try JSONParser.parse(text) }

    /// The Converse body for an OpenAI request body, as compact JSON text.
    static func converse(_ openAI: String) throws -> String {
        try ConverseRequest.convert(Array(openAI.utf8)).jsonString
    }

    /// The error a conversion throws (nil when it does not).
    static func failure(_ body: () throws -> Void) -> PluginError? {
        do { try body() } catch { return error as? PluginError ?? PluginError(.internal, "not a PluginError: \(error)") }
        return nil
    }

    static func frames(_ messages: [EventStreamMessage]) throws -> [UInt8] {
        try messages.flatMap { try EventStreamEncoder.encode($0) }
    }

    static func event(_ type: String, _ json: String) -> EventStreamMessage { .event(type, payload: Array(json.utf8)) }
}

/// Feeds a stream in the given pieces and collects its output, usage and failure.
struct StreamRun {
    var output: [UInt8] = []
    var usage = PluginUsage()
    var error: PluginError?

    var text: String { String(decoding: output, as: UTF8.self) }

    init(_ stream: any AdaptorStream, _ bytes: [UInt8], pieces: [Int] = [], finish: Bool = true) {
        var usage = PluginUsage()
        defer { self.usage = usage }
        var offset = 0
        for size in pieces + [bytes.count] where offset < bytes.count {
            let end = min(bytes.count, offset + size)
            let result = Array(bytes[offset..<end]).withUnsafeBytes { raw in
                Result { () throws(PluginError) -> [UInt8] in try stream.feed(raw, usage: &usage) }
            }
            switch result {
            case .success(let out): output += out
            case .failure(let error):
                output += error.output
                self.error = error
                return
            }
            offset = end
        }
        guard finish else { return }
        do { output += try stream.finish(usage: &usage) } catch {
            output += error.output
            self.error = error
        }
    }

    /// The JSON of every `data:` event but `[DONE]`.
    var events: [JSONValue] {
        text.split(separator: "\n\n").compactMap { event in
            guard event.hasPrefix("data: "), event != "data: [DONE]" else { return nil }
            return try? JSONParser.parse(String(event.dropFirst(6)))
        }
    }
}
