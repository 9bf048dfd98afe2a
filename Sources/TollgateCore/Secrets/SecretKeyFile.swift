import CLibCrypto
import Foundation

extension SecretSealer {
    /// The sealing key: `TOLLGATE_SECRET_KEY` when set (64 hex characters or base64 of 32 bytes);
    /// else, for SQLite (one instance), a key made once and kept in `<data_dir>/secret-key`
    /// (mode 0600, like the demo key). On PostgreSQL, where every instance must share it, only the
    /// variable will do: nil then, and credentials cannot be stored through the admin API.
    static func load(key text: String?, storageURL: String, dataDirectory: String) throws -> SecretSealer? {
        if let text {
            guard let key = parseKey(text), let sealer = SecretSealer(key: key) else {
                throw ConfigError(file: "environment", key: environmentVariable,
                                  message: "must be 32 bytes as 64 hex characters or base64 (e.g. the output of `openssl rand -hex 32`)")
            }
            return sealer
        }
        guard storageURL.hasPrefix("sqlite:") else { return nil }
        return try fromFile((dataDirectory as NSString).appendingPathComponent("secret-key"))
    }

    private static func fromFile(_ path: String) throws -> SecretSealer? {
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            guard let key = parseKey(text), let sealer = SecretSealer(key: key) else {
                throw ConfigError(file: path, key: "", message: "the secret key file is not 64 hex characters; restore it or set \(environmentVariable)")
            }
            return sealer
        }
        var key = [UInt8](repeating: 0, count: 32)
        guard RAND_bytes(&key, 32) == 1 else { throw ConfigError(file: path, key: "", message: "no random bytes for a secret key") }
        let hex = key.map { String(format: "%02x", $0) }.joined()
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: path, contents: Data((hex + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ConfigError(file: path, key: "", message: "cannot write the secret key file")
        }
        return SecretSealer(key: key)
    }
}
