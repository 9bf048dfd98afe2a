import CLibCrypto

/// SHA-256 and HMAC-SHA256 from OpenSSL's libcrypto, which the gateway links already.
enum Hashing {
    static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        withNonNullBytes(bytes) { input, count in
            digest.withUnsafeMutableBufferPointer { out in _ = SHA256(input, count, out.baseAddress) }
        }
        return digest
    }

    /// Nil only if libcrypto fails, which it does not for SHA-256 with sane lengths.
    static func hmacSHA256(key: [UInt8], _ data: [UInt8]) -> [UInt8]? {
        var mac = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let ok = withNonNullBytes(key) { k, keyCount in
            withNonNullBytes(data) { d, dataCount in
                mac.withUnsafeMutableBufferPointer { out in
                    HMAC(EVP_sha256(), k, Int32(keyCount), d, dataCount, out.baseAddress, &length) != nil
                }
            }
        }
        return ok && length == 32 ? mac : nil
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Some libcrypto versions refuse a NULL pointer even with a zero length; an empty array may
    /// give one, so empty input is passed as a pointer to a spare byte.
    private static func withNonNullBytes<R>(_ bytes: [UInt8], _ body: (UnsafePointer<UInt8>, Int) -> R) -> R {
        bytes.withUnsafeBufferPointer { buffer in
            if let base = buffer.baseAddress { return body(base, buffer.count) }
            var spare: UInt8 = 0
            return withUnsafePointer(to: &spare) { body($0, 0) }
        }
    }
}
