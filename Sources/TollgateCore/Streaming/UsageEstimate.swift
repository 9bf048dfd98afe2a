#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The usage of a request whose upstream reported none (or only part) before it ended: the client
/// hung up and the upstream request was cancelled, the stream was cut, or a read timed out. No
/// request that reached the upstream is recorded at zero. Counts at 4 bytes a token (the TPM
/// limiter's rule): the prompt from the body sent upstream, the completion from the text the
/// answer carried so far. A filled-in count marks the record `estimated`.
enum UsageEstimate {
    static let bytesPerToken = 4

    static func complete(_ reported: TokenUsage, promptBytes: Int, completionTextBytes: Int, chat: Bool) -> TokenUsage {
        var usage = reported
        if usage.prompt == nil {
            usage.prompt = Int64((promptBytes + bytesPerToken - 1) / bytesPerToken)
            usage.estimated = true
        }
        if chat && usage.completion == nil {
            usage.completion = Int64((completionTextBytes + bytesPerToken - 1) / bytesPerToken)
            usage.estimated = true
        }
        return usage
    }
}

/// Counts the bytes of generated text in answer bytes (OpenAI chunks' `"content"` and tool
/// `"arguments"`, Anthropic's and Gemini's `"text"`) as they pass, without parsing them: a
/// search for the field name, then the length of its string value. Fed in pieces split anywhere;
/// a field name split across two pieces is missed (an estimate loses a few bytes).
struct StreamedText {
    private(set) var bytes = 0
    private var inString = false
    private var escaped = false

    static let fields = ["\"content\":", "\"arguments\":", "\"text\":"].map { Array($0.utf8) }

    mutating func read(_ chunk: UnsafeRawBufferPointer) {
        guard let base = chunk.baseAddress else { return }
        var i = 0
        while i < chunk.count {
            if inString {
                let byte = chunk[i]
                i += 1
                switch (escaped, byte) {
                case (true, _): escaped = false; bytes += 1
                case (false, UInt8(ascii: "\\")): escaped = true
                case (false, UInt8(ascii: "\"")): inString = false
                default: bytes += 1
                }
                continue
            }
            guard let hit = memchr(base + i, 0x22, chunk.count - i) else { return }
            let at = base.distance(to: UnsafeRawPointer(hit))
            i = at + 1
            guard let field = Self.fields.first(where: { Self.matches($0, in: chunk, at: at) }) else { continue }
            var j = at + field.count
            while j < chunk.count, chunk[j] == 0x20 { j += 1 }
            guard j < chunk.count, chunk[j] == UInt8(ascii: "\"") else { i = j; continue }
            inString = true
            i = j + 1
        }
    }

    mutating func read(_ bytes: [UInt8]) { bytes.withUnsafeBytes { read($0) } }

    private static func matches(_ field: [UInt8], in chunk: UnsafeRawBufferPointer, at offset: Int) -> Bool {
        guard chunk.count - offset >= field.count else { return false }
        for k in 0..<field.count where chunk[offset + k] != field[k] { return false }
        return true
    }
}
