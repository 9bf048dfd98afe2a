import Foundation
import Synchronization

/// Polls the templates directory (names, sizes and modification times of its `*.json`) every
/// `interval` on a background task, off the request path, and reloads the registry on a change.
public final class TemplateWatcher: Sendable {
    public let directory: String
    private let registry: TemplateRegistry
    private let interval: Duration
    private let task = Mutex<Task<Void, Never>?>(nil)

    public init(directory: String, registry: TemplateRegistry, interval: Duration = .seconds(2)) {
        self.directory = directory
        self.registry = registry
        self.interval = interval
    }

    /// Loads the directory now and watches it from then on.
    public func start() {
        var seen = Self.signature(directory)
        registry.reload(directory: directory)
        let (directory, registry, interval) = (self.directory, self.registry, self.interval)
        let watching = Task.detached {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard !Task.isCancelled else { return }
                let now = Self.signature(directory)
                if now != seen {
                    seen = now
                    registry.reload(directory: directory)
                }
            }
        }
        task.withLock { $0 = watching }
    }

    public func stop() { task.withLock { $0?.cancel(); $0 = nil } }

    struct FileStamp: Equatable {
        var size: Int
        var modified: Date?
    }

    static func signature(_ directory: String) -> [String: FileStamp] {
        let fm = FileManager.default
        var out: [String: FileStamp] = [:]
        for name in (try? fm.contentsOfDirectory(atPath: directory)) ?? [] where TemplateRegistry.isTemplateFile(name) {
            let attributes = try? fm.attributesOfItem(atPath: (directory as NSString).appendingPathComponent(name))
            out[name] = FileStamp(size: (attributes?[.size] as? NSNumber)?.intValue ?? -1, modified: attributes?[.modificationDate] as? Date)
        }
        return out
    }
}
