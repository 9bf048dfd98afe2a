import Foundation

/// Runs the `openssl` CLI (and Python) for fixtures and cross-checks, so no key files live in the
/// repository.
enum Tool {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs `executable` (looked up on PATH) and returns its stdout; throws on a non-zero exit.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], input: [UInt8] = []) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        // Inputs are small (keys, JWTs); read both outputs concurrently so neither pipe fills.
        let errData = LockedBox<Data>(Data())
        let errDone = DispatchSemaphore(value: 0)
        Thread {
            errData.set(stderr.fileHandleForReading.readDataToEndOfFile())
            errDone.signal()
        }.start()
        stdin.fileHandleForWriting.write(Data(input))
        try stdin.fileHandleForWriting.close()
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        errDone.wait()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(executable) \(arguments.joined(separator: " ")) exited \(process.terminationStatus): "
                + String(decoding: errData.get(), as: UTF8.self))
        }
        return Array(out)
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
