import Foundation
import Synchronization

/// Polls the plugins folder (each `*.so`'s inode, size and modification time) every `interval`
/// on a background task, off the request path. A new or changed file is handed on once it has
/// looked the same for one whole interval (so a file still being copied is not opened half
/// written); a removed file is handed on at once.
final class PluginWatcher: Sendable {
    struct FileStamp: Equatable, Sendable {
        var inode: UInt64
        var size: Int64
        var modified: Int64
    }

    enum Change: Equatable, Sendable {
        case appeared(String)
        case removed(String)
    }

    let directory: String
    private let interval: Duration
    private let state: Mutex<(seen: [String: FileStamp], pending: [String: FileStamp])>
    private let task = Mutex<Task<Void, Never>?>(nil)

    /// `seen` is the folder as it was when the gateway loaded it.
    init(directory: String, seen: [String: FileStamp], interval: Duration = .seconds(1)) {
        self.directory = directory
        self.interval = interval
        state = Mutex((seen, [:]))
    }

    func start(_ apply: @escaping @Sendable ([Change]) -> Void) {
        let watching = Task.detached { [self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard !Task.isCancelled else { return }
                let changes = scan()
                if !changes.isEmpty { apply(changes) }
            }
        }
        task.withLock { $0 = watching }
    }

    func stop() { task.withLock { $0?.cancel(); $0 = nil } }

    /// Compares the folder with what was seen; returns the paths to load (again) or withdraw.
    func scan() -> [Change] {
        let now = Self.signature(directory)
        return state.withLock { state in
            var changes: [Change] = []
            for name in Set(now.keys).union(state.seen.keys).sorted() where now[name] != state.seen[name] {
                let path = (directory as NSString).appendingPathComponent(name)
                guard let stamp = now[name] else {
                    state.seen[name] = nil
                    state.pending[name] = nil
                    changes.append(.removed(path))
                    continue
                }
                if state.pending[name] == stamp {
                    state.seen[name] = stamp
                    state.pending[name] = nil
                    changes.append(.appeared(path))
                } else {
                    state.pending[name] = stamp
                }
            }
            return changes
        }
    }

    /// The `*.so` files of a folder (not hidden ones: the loader's private copies are).
    static func signature(_ directory: String) -> [String: FileStamp] {
        var out: [String: FileStamp] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        where name.hasSuffix(".so") && !name.hasPrefix(".") {
            var info = stat()
            guard stat((directory as NSString).appendingPathComponent(name), &info) == 0 else { continue }
            out[name] = FileStamp(inode: UInt64(info.st_ino), size: Int64(info.st_size),
                                  modified: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec))
        }
        return out
    }
}
