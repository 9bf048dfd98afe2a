import ArgumentParser
@preconcurrency import Dispatch
import Foundation
import TollgateCore

/// Calls back on each delivery of the given signals (SIGTERM and SIGINT by default), off the
/// signal handler's context.
final class SignalWatcher: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]

    init(signals: [(Int32, String)] = [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")], _ onSignal: @escaping @Sendable (String) -> Void) {
        sources = signals.map { number, name in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { onSignal(name) }
            source.resume()
            return source
        }
    }
}
