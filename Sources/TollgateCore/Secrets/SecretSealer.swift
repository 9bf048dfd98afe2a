import CLibCrypto
import Foundation

/// Seals secrets kept in storage (channel credentials put through the admin API) with
/// AES-256-GCM under a 32-byte key, so a copy of the database holds no usable credential. A
/// sealed value is `tg-sealed:v1:` + base64(12-byte nonce, ciphertext, 16-byte tag); the
/// prefix is authenticated too, and a fresh random nonce is drawn for every value.
public struct SecretSealer: Sendable {
    static let prefix = "tg-sealed:v1:"
    static let environmentVariable = "TOLLGATE_SECRET_KEY"
    private let key: [UInt8]

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    init?(key: [UInt8]) {
        guard key.count == 32 else { return nil }
        self.key = key
    }

    /// 64 hex characters or the base64 of 32 bytes.
    static func parseKey(_ text: String) -> [UInt8]? {
        let text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.utf8.count == 64, let bytes = hexBytes(text) { return bytes }
        guard let data = Data(base64Encoded: text), data.count == 32 else { return nil }
        return Array(data)
    }

    static func isSealed(_ value: String) -> Bool { value.hasPrefix(prefix) }

    func seal(_ plain: String) throws(Failure) -> String {
        var nonce = [UInt8](repeating: 0, count: 12)
        guard RAND_bytes(&nonce, 12) == 1 else { throw Failure(description: "no random bytes for a nonce") }
        let (ciphertext, tag) = try crypt(Array(plain.utf8), nonce: nonce, tag: nil)
        return Self.prefix + Data(nonce + ciphertext + tag).base64EncodedString()
    }

    func open(_ sealed: String) throws(Failure) -> String {
        guard sealed.hasPrefix(Self.prefix), let data = Data(base64Encoded: String(sealed.dropFirst(Self.prefix.count))),
              data.count >= 28 else { throw Failure(description: "not a sealed value") }
        let bytes = Array(data)
        let (plain, _) = try crypt(Array(bytes[12..<(bytes.count - 16)]), nonce: Array(bytes[..<12]), tag: Array(bytes.suffix(16)))
        return String(decoding: plain, as: UTF8.self)
    }

    /// Encrypts (`tag` nil: returns the tag) or decrypts and verifies `tag`.
    private func crypt(_ input: [UInt8], nonce: [UInt8], tag: [UInt8]?) throws(Failure) -> ([UInt8], [UInt8]) {
        guard let context = EVP_CIPHER_CTX_new() else { throw Failure(description: "no cipher context") }
        defer { EVP_CIPHER_CTX_free(context) }
        let encrypting: Int32 = tag == nil ? 1 : 0
        let aad = Array(Self.prefix.utf8)
        var output = [UInt8](repeating: 0, count: input.count + 16)
        var length: Int32 = 0, total = 0
        var ok = EVP_CipherInit_ex(context, EVP_aes_256_gcm(), nil, nil, nil, encrypting) == 1
            && EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_IVLEN, 12, nil) == 1
            && EVP_CipherInit_ex(context, nil, nil, key, nonce, encrypting) == 1
            && EVP_CipherUpdate(context, nil, &length, aad, Int32(aad.count)) == 1
        if ok, !input.isEmpty {
            ok = EVP_CipherUpdate(context, &output, &length, input, Int32(input.count)) == 1
            total = Int(length)
        }
        if ok, var expected = tag {
            ok = EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, 16, &expected) == 1
        }
        if ok {
            ok = EVP_CipherFinal_ex(context, &output[total], &length) == 1  // total < output.count (16 spare)
            total += ok ? Int(length) : 0
        }
        guard ok else {
            ERR_clear_error()
            throw Failure(description: tag == nil ? "sealing failed" : "the value does not open with this key (a different TOLLGATE_SECRET_KEY, or altered)")
        }
        var madeTag = tag ?? [UInt8](repeating: 0, count: 16)
        if tag == nil, EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, 16, &madeTag) != 1 {
            throw Failure(description: "sealing failed")
        }
        return (Array(output[..<total]), madeTag)
    }

    private static func hexBytes(_ text: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        var high: UInt8?
        for unit in text.utf8 {
            guard let nibble = hexValue(unit) else { return nil }
            if let h = high { bytes.append(h << 4 | nibble); high = nil } else { high = nibble }
        }
        return bytes
    }
}
