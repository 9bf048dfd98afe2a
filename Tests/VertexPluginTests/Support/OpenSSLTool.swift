import Foundation
import TestSupport

/// Runs the `openssl` CLI (and Python) for fixtures and cross-checks, so no key files live in the
/// repository.
enum Tool {
    /// Runs `executable` (looked up on PATH) and returns its stdout; throws on a non-zero exit.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], input: [UInt8] = []) throws -> [UInt8] {
        try Subprocess.checked(executable, arguments, input: input)
    }

    static func openssl(_ arguments: [String], input: [UInt8] = []) throws -> [UInt8] {
        try run("openssl", arguments, input: input)
    }

    static func opensslText(_ arguments: [String], input: String = "") throws -> String {
        String(decoding: try openssl(arguments, input: Array(input.utf8)), as: UTF8.self)
    }

    /// True when `python3` can import the `cryptography` package.
    static let pythonCryptographyAvailable: Bool = (try? run("python3", ["-c", "import cryptography"])) != nil
}

/// A value shared between threads in tests.
final class LockedBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T
    init(_ value: T) { self.value = value }
    func get() -> T { lock.withLock { value } }
    func set(_ newValue: T) { lock.withLock { value = newValue } }
    func update<R>(_ body: (inout T) -> R) -> R { lock.withLock { body(&value) } }
}
