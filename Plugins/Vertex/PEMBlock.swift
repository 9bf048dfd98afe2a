import TollgatePluginKit

/// Takes the DER out of a PEM private key, with errors that say what is wrong with the text a
/// person pasted. Literal `\n` pairs (a key file double-escaped on its way into a config) count as
/// line breaks.
enum PEMBlock {
    static let acceptedLabels = ["PRIVATE KEY", "RSA PRIVATE KEY"]

    static func privateKeyDER(_ pem: String, field: String) throws(PluginError) -> [UInt8] {
        let text = pem.replacing("\\n", with: "\n")
        guard let begin = text.firstRange(of: "-----BEGIN ") else {
            throw PluginError(.config, "\(field) is not a PEM private key (no \"-----BEGIN PRIVATE KEY-----\" line)")
        }
        let afterBegin = text[begin.upperBound...]
        guard let labelEnd = afterBegin.firstRange(of: "-----") else {
            throw PluginError(.config, "\(field) has a malformed PEM BEGIN line")
        }
        let label = String(afterBegin[..<labelEnd.lowerBound])
        if label == "EC PRIVATE KEY" {
            throw PluginError(.config, "\(field) holds a key of type EC; RS256 needs an RSA key")
        }
        guard acceptedLabels.contains(label) else {
            let hint = label.contains("ENCRYPTED") ? " (encrypted keys are not supported)" : ""
            throw PluginError(.config, "\(field) holds a PEM \"\(label)\"; expected \"PRIVATE KEY\"\(hint)")
        }
        let body = afterBegin[labelEnd.upperBound...]
        guard let end = body.firstRange(of: "-----END \(label)-----") else {
            throw PluginError(.config, "\(field) is truncated (no \"-----END \(label)-----\" line)")
        }
        guard let der = Base64.decode(body[..<end.lowerBound].utf8, lenient: true), !der.isEmpty else {
            throw PluginError(.config, "\(field) has invalid base64 between its PEM BEGIN and END lines")
        }
        return der
    }
}
