import TollgatePluginKit

/// Anthropic requires `max_tokens`; OpenAI clients often leave it out. When neither the request
/// nor the channel (`options.max_tokens_default`) gives one, the model's own output ceiling is
/// used, so a client gets the same room it would get from OpenAI's "as much as the model
/// allows". Known ceilings, from Anthropic's model overview (standard, without beta headers):
///
/// | model family        | max output tokens |
/// |---------------------|-------------------|
/// | claude-opus-4-5     | 64000             |
/// | claude-opus-4-1     | 32000             |
/// | claude-opus-4       | 32000             |
/// | claude-sonnet-4(-5) | 64000             |
/// | claude-haiku-4-5    | 64000             |
/// | claude-3-7-sonnet   | 64000             |
/// | claude-3-5-sonnet   | 8192              |
/// | claude-3-5-haiku    | 8192              |
/// | claude-3-opus       | 4096              |
/// | claude-3-sonnet     | 4096              |
/// | claude-3-haiku      | 4096              |
///
/// Anything else gets 4096, which every Claude model accepts. Names match by family anywhere in
/// the model id, so dated ids (`claude-sonnet-4-5-20250929`), `-latest` aliases and prefixed ids
/// (`us.anthropic.claude-3-5-haiku-20241022-v1:0`) resolve; a newer model of a known family gets
/// its family's value, which it accepts (ceilings have only grown).
enum MaxOutputTokens {
    static let fallback: Int64 = 4096

    /// Every family is `claude-` and one of these, most specific first: `opus-4-5` before `opus-4`.
    static let table: [(family: StaticString, tokens: Int64)] = [
        ("opus-4-5", 64000),
        ("opus-4-1", 32000),
        ("opus-4", 32000),
        ("sonnet-4", 64000),
        ("haiku-4", 64000),
        ("3-7-sonnet", 64000),
        ("3-5-sonnet", 8192),
        ("3-5-haiku", 8192),
        ("3-opus", 4096),
        ("3-sonnet", 4096),
        ("3-haiku", 4096),
    ]

    /// Matched on the id's own bytes, at each place `claude-` stands (trying every family at
    /// every place, lower-casing a copy first, cost a thousand instructions and more a converted
    /// request without `max_tokens`); the family first in the table wins wherever it is.
    static func forModel(_ model: String) -> Int64 {
        var model = model
        return model.withUTF8 { name in
            var best = table.count
            for start in name.indices where occurs("claude-", in: name, at: start) {
                var entry = 0
                while entry < best, !occurs(table[entry].family, in: name, at: start + 7) { entry += 1 }
                best = entry
            }
            return best < table.count ? table[best].tokens : fallback
        }
    }

    /// Whether `word` (lower case) is in `name` at `start`, ignoring ASCII case.
    private static func occurs(_ word: StaticString, in name: UnsafeBufferPointer<UInt8>, at start: Int) -> Bool {
        let count = word.utf8CodeUnitCount, bytes = word.utf8Start
        guard name.count - start >= count else { return false }
        for offset in 0..<count {
            let letter = name[start + offset]
            guard (letter >= 0x41 && letter <= 0x5A ? letter | 0x20 : letter) == bytes[offset] else { return false }
        }
        return true
    }
}
