import Foundation
import Synchronization

/// Structured request logs: one JSON line per finished request (request id, key name, model,
/// channel, status, tokens, cost, latency) — never a key or a prompt. Lines are buffered and
/// written by a background task, so a slow disk never holds up a request.
public final class RequestLog: RequestRecorder {
    private let handle: FileHandle
    private let buffer = Mutex<[UInt8]>([])
    private let writer = Mutex<Task<Void, Never>?>(nil)

    /// `stdout`, `stderr`, or a file path (appended to).
    public init(destination: String) throws {
        switch destination {
        case "stdout": handle = .standardOutput
        case "stderr": handle = .standardError
        default:
            if !FileManager.default.fileExists(atPath: destination) {
                guard FileManager.default.createFile(atPath: destination, contents: nil) else {
                    throw StorageError(message: "cannot create the request log \(destination)")
                }
            }
            guard let file = FileHandle(forWritingAtPath: destination) else {
                throw StorageError(message: "cannot open the request log \(destination)")
            }
            file.seekToEndOfFile()
            handle = file
        }
    }

    public func record(_ record: RequestRecord) {
        let line = LedgerJSON.encode(record) + [0x0A]
        buffer.withLock { $0.append(contentsOf: line) }
    }

    public func start(interval: Duration = .milliseconds(100)) {
        writer.withLock { task in
            guard task == nil else { return }
            task = Task { [self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    flush()
                }
            }
        }
    }

    /// Writes what is buffered (also at shutdown).
    public func flush() {
        let pending = buffer.withLock { bytes -> [UInt8] in
            defer { bytes.removeAll(keepingCapacity: true) }
            return bytes
        }
        if !pending.isEmpty { handle.write(Data(pending)) }
    }

    public func stop() {
        writer.withLock { $0?.cancel(); $0 = nil }
        flush()
    }
}
