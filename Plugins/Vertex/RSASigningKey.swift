import CLibCrypto
import TollgatePluginKit

/// An RSA private key parsed once from PEM, signing with RSASSA-PKCS1-v1_5 over SHA-256 (JWS
/// `RS256`). The shim offers no pem.h, so the PEM armour is removed here and the DER handed to
/// `d2i_AutoPrivateKey` (PKCS#8, or PKCS#1 for `RSA PRIVATE KEY`).
///
/// Sharing: the EVP_PKEY is never mutated after parsing and every signature uses its own
/// EVP_MD_CTX, so concurrent `sign` calls are safe; the token cache also signs at most one JWT at
/// a time per account.
public final class RSASigningKey: @unchecked Sendable {
    private let key: OpaquePointer

    /// Bits in the modulus.
    public let bits: Int

    /// - Parameter field: names the key's origin in error messages (the key file's field).
    public init(pem: String, field: String = "private_key") throws(PluginError) {
        let der = try PEMBlock.privateKeyDER(pem, field: field)
        let parsed: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return nil }
            var cursor: UnsafePointer<UInt8>? = base
            return d2i_AutoPrivateKey(nil, &cursor, buffer.count)
        }
        guard let parsed else {
            throw PluginError(.config, "\(field) could not be read as a private key (bad or truncated DER inside the PEM)")
        }
        guard EVP_PKEY_is_a(parsed, "RSA") == 1 else {
            let type = EVP_PKEY_get0_type_name(parsed).map { String(cString: $0) } ?? "non-RSA"
            EVP_PKEY_free(parsed)
            throw PluginError(.config, "\(field) holds a key of type \(type); RS256 needs an RSA key")
        }
        key = parsed
        bits = Int(EVP_PKEY_get_bits(parsed))
    }

    deinit { EVP_PKEY_free(key) }

    /// The RS256 signature of `message`.
    public func sign(_ message: [UInt8]) throws(PluginError) -> [UInt8] {
        guard let context = EVP_MD_CTX_new() else { throw PluginError(.internal, "out of memory creating a signing context") }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestSignInit(context, nil, EVP_sha256(), nil, key) == 1 else {
            throw PluginError(.internal, "OpenSSL refused to start an RS256 signature")
        }
        var length = 0
        let signature: [UInt8]? = message.withUnsafeBufferPointer { input in
            // The first call sizes the signature, the second writes it.
            guard EVP_DigestSign(context, nil, &length, input.baseAddress, input.count) == 1, length > 0 else { return nil }
            var out = [UInt8](repeating: 0, count: length)
            let ok = out.withUnsafeMutableBufferPointer { EVP_DigestSign(context, $0.baseAddress, &length, input.baseAddress, input.count) }
            guard ok == 1 else { return nil }
            return Array(out.prefix(length))
        }
        guard let signature else { throw PluginError(.internal, "OpenSSL failed to compute an RS256 signature") }
        return signature
    }
}
