import CLibCrypto

/// Checks RS256 signatures with OpenSSL's EVP_DigestVerify against a public key only, so a test
/// proves the signature without trusting the signer's own key object.
final class RS256Verifier: @unchecked Sendable {
    private let key: OpaquePointer

    /// - Parameter pkcs1DER: an `RSAPublicKey` (PKCS#1) in DER.
    init?(pkcs1DER: [UInt8]) {
        let parsed: OpaquePointer? = pkcs1DER.withUnsafeBufferPointer { buffer in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_PublicKey(EVP_PKEY_RSA, nil, &cursor, buffer.count)
        }
        guard let parsed else { return nil }
        key = parsed
    }

    deinit { EVP_PKEY_free(key) }

    func verify(message: [UInt8], signature: [UInt8]) -> Bool {
        guard let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestVerifyInit(context, nil, EVP_sha256(), nil, key) == 1 else { return false }
        return message.withUnsafeBufferPointer { m in
            signature.withUnsafeBufferPointer { s in
                EVP_DigestVerify(context, s.baseAddress, s.count, m.baseAddress, m.count) == 1
            }
        }
    }
}
