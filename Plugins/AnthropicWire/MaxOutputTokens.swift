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

    /// Most specific first: `claude-opus-4-5` before `claude-opus-4`.
    static let table: [(family: [UInt8], tokens: Int64)] = [
        ("claude-opus-4-5", 64000),
        ("claude-opus-4-1", 32000),
        ("claude-opus-4", 32000),
        ("claude-sonnet-4", 64000),
        ("claude-haiku-4", 64000),
        ("claude-3-7-sonnet", 64000),
        ("claude-3-5-sonnet", 8192),
        ("claude-3-5-haiku", 8192),
        ("claude-3-opus", 4096),
        ("claude-3-sonnet", 4096),
        ("claude-3-haiku", 4096),
    ].map { (Array($0.0.utf8), $0.1) }

    /// Matched on bytes: `String.contains(String)` compares Characters, and eleven of those
    /// searches were a tenth of the conversion path's CPU (every request without `max_tokens`).
    static func forModel(_ model: String) -> Int64 {
        let name = model.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }  // ASCII lower case, one copy
        return table.first { ByteSearch.find($0.family, in: name) != nil }?.tokens ?? fallback
    }
}
