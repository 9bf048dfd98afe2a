import Foundation
import Logging
import Synchronization

/// The durable usage ledger: one record per finished request. `record` only appends to an
/// in-memory queue (it runs on an event loop); a background task writes the queue to storage in
/// batches every `flushInterval`. A failed batch is written row by row: rows storage refuses
/// while it takes others go to the spill file (JSON lines) at once, so one bad row never blocks
/// the rows behind it; when it takes none (storage is down) they wait for the next try, the
/// queue holding at most `maxQueued` (the oldest beyond that are spilled, never dropped).
/// `shutdown` flushes everything and spills what storage still refuses. A hard kill loses at
/// most the records of the last `flushInterval`.
public final class UsageLedger: RequestRecorder {
    let storage: any Storage
    let logger: Logger
    let flushInterval: Duration
    let spillPath: String
    let maxQueued: Int
    private let queue = Mutex<[RequestRecord]>([])
    private let written = Atomic<Int>(0)
    /// The writer task, whether shutdown began, and the writer's current wait between flushes:
    /// shutdown ends that wait (a long `flushInterval` must not hold the process up).
    private let writer = Mutex<(task: Task<Void, Never>?, stopping: Bool, nap: Task<Void, Never>?)>((nil, false, nil))
    /// One flush at a time, so a caller's flush returns only after an earlier write committed.
    private let flushing = AsyncGate()

    public init(storage: any Storage, logger: Logger, flushInterval: Duration = .milliseconds(200), spillPath: String,
                maxQueued: Int = 100_000) {
        self.storage = storage
        self.logger = logger
        self.flushInterval = flushInterval
        self.spillPath = spillPath
        self.maxQueued = max(1, maxQueued)
    }

    static let refusalsMeaningDown = 3

    public func record(_ record: RequestRecord) {
        guard record.authenticated else { return }  // keyless traffic is no one's usage
        queue.withLock { $0.append(record) }
    }

    /// Records waiting to be written.
    public var queueDepth: Int { queue.withLock { $0.count } }
    /// Records written since start.
    public var writtenCount: Int { written.load(ordering: .relaxed) }

    public func start() {
        writer.withLock { writer in
            guard writer.task == nil, !writer.stopping else { return }
            writer.task = Task { [self] in
                // Never cancelled mid-write: shutdown ends only the nap, then waits for this loop.
                while let nap = nextNap() {
                    await nap.value
                    await flush()
                }
            }
        }
    }

    /// The writer waits for its next flush (tests wait for this before a shutdown).
    var isNapping: Bool { writer.withLock { $0.nap != nil } }

    /// The wait before the next flush, or nil once shutdown began (checked under the same lock
    /// shutdown takes, so no nap starts after it).
    private func nextNap() -> Task<Void, Never>? {
        writer.withLock { writer in
            guard !writer.stopping else { return nil }
            let interval = flushInterval
            writer.nap = Task { try? await Task.sleep(for: interval) }
            return writer.nap
        }
    }

    /// Writes everything queued now; on failure the records go back to the queue's front.
    @discardableResult
    public func flush() async -> Bool {
        await flushing.enter()
        let written = await writeQueued()
        await flushing.leave()
        return written
    }

    private func writeQueued() async -> Bool {
        let batch = queue.withLock { queue -> [RequestRecord] in
            defer { queue.removeAll(keepingCapacity: true) }
            return queue
        }
        guard !batch.isEmpty else { return true }
        do {
            try await storage.appendUsage(batch)
            written.add(batch.count, ordering: .relaxed)
            return true
        } catch {
            logger.error("usage ledger write failed; writing row by row", metadata: ["records": "\(batch.count)", "error": "\(error)"])
        }
        var refused: [RequestRecord] = []
        var took = 0
        for record in batch {
            // The first rows all refused: storage may be down; the untried rest waits.
            if took == 0 && refused.count == Self.refusalsMeaningDown { break }
            do {
                try await storage.appendUsage([record])
                took += 1
                written.add(1, ordering: .relaxed)
            } catch {
                refused.append(record)
            }
        }
        guard took > 0 else {
            // Nothing taken: keep everything for the next try, the rows just refused last, so a
            // few bad rows at the front cannot stop the others from being tried; bounded by
            // `maxQueued` (the oldest beyond it are spilled).
            let overflow = queue.withLock { queue -> [RequestRecord] in
                queue = Array(batch.dropFirst(refused.count)) + queue + refused
                let excess = queue.count - maxQueued
                guard excess > 0 else { return [] }
                defer { queue.removeFirst(excess) }
                return Array(queue.prefix(excess))
            }
            if !overflow.isEmpty { spill(overflow, why: "the queue is full while storage refuses writes") }
            return false
        }
        if !refused.isEmpty { spill(refused, why: "storage refused these rows") }
        return true
    }

    /// Stops the background writer and writes everything (a few tries), spilling what storage
    /// refuses to `spillPath`.
    public func shutdown() async {
        let task = writer.withLock { writer -> Task<Void, Never>? in
            writer.stopping = true
            writer.nap?.cancel()
            defer { writer.task = nil }
            return writer.task
        }
        await task?.value
        for attempt in 0..<3 {
            if await flush() { return }
            try? await Task.sleep(for: .milliseconds(100 << attempt))
        }
        let rest = queue.withLock { queue -> [RequestRecord] in
            defer { queue.removeAll() }
            return queue
        }
        spill(rest, why: "storage refused them at shutdown")
    }

    /// Appends records to the spill file (off the event loops: the writer task or shutdown).
    private func spill(_ rest: [RequestRecord], why: String) {
        guard !rest.isEmpty else { return }
        var lines = Data()
        for record in rest { lines.append(contentsOf: LedgerJSON.encode(record) + [0x0A]) }
        if let handle = FileHandle(forWritingAtPath: spillPath) ?? {
            FileManager.default.createFile(atPath: spillPath, contents: nil) ? FileHandle(forWritingAtPath: spillPath) : nil
        }() {
            handle.seekToEndOfFile()
            handle.write(lines)
            try? handle.close()
            logger.error("usage ledger could not be written; records saved to \(spillPath)",
                         metadata: ["records": "\(rest.count)", "reason": "\(why)"])
        } else {
            logger.critical("usage ledger records lost: storage and \(spillPath) both failed", metadata: ["records": "\(rest.count)"])
        }
    }
}

/// A ledger record as one JSON object (the spill file; the structured request log).
enum LedgerJSON {
    static func encode(_ r: RequestRecord) -> [UInt8] {
        func count(_ n: Int64?) -> JSONValue { n.map(JSONValue.int) ?? .null }
        func text(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
        return JSONValue.object([
            "request_id": .string(r.requestID), "key": text(r.keyName), "route": .string(r.route), "model": text(r.model),
            "channel": text(r.channel), "provider": text(r.provider), "dialect": .string(r.dialect), "status": .int(r.status),
            "prompt_tokens": count(r.usage.prompt), "completion_tokens": count(r.usage.completion),
            "cache_read_tokens": count(r.usage.cacheRead), "cache_creation_tokens": count(r.usage.cacheCreation),
            "reasoning_tokens": count(r.usage.reasoning), "estimated": .bool(r.usage.estimated),
            "cost": r.bill.cost.map { .number($0.decimal) } ?? .null, "currency": text(r.bill.cost?.currency),
            "price": text(r.bill.priceName), "price_source": text(r.bill.priceSource), "price_problem": text(r.bill.problem),
            "latency_ms": .number(String(format: "%.3f", Double(r.latencyNanos) / 1e6)),
            "ttfb_ms": r.firstByteNanos.map { .number(String(format: "%.3f", Double($0) / 1e6)) } ?? .null,
            "started_at_ms": .int(r.startedAtMillis), "fallback_from": text(r.fallbackFrom),
        ]).serialized()
    }
}
