import TollgatePluginKit

extension EventStreamDecoder {
    /// Decodes `chunk` and hands each complete event frame (`:event-type`, payload) to `handle`,
    /// which appends client bytes to `out`. A decoding failure or an exception / error frame ends
    /// the stream with `.upstream`, carrying the bytes produced before it. Shared by every stream
    /// AWS frames: Converse, InvokeModel and SageMaker.
    mutating func events(in chunk: UnsafeRawBufferPointer, into out: inout [UInt8],
                         _ handle: (_ type: String, _ payload: [UInt8], _ out: inout [UInt8]) throws(PluginError) -> Void) throws(PluginError) {
        do { try append(chunk) } catch { throw PluginError(.upstream, error.description, output: out) }
        while true {
            let message: EventStreamMessage?
            do { message = try next() } catch { throw PluginError(.upstream, error.description, output: out) }
            guard let message else { return }
            let event: EventStreamEvent
            do { event = try message.interpreted() } catch { throw PluginError(.upstream, error.description, output: out) }
            switch event {
            case .exception(let type, let text, _): throw PluginError(.upstream, "\(type): \(text)", output: out)
            case .error(let code, let text): throw PluginError(.upstream, "\(code): \(text)", output: out)
            case .event(let type, let payload):
                do { try handle(type, payload, &out) } catch { throw PluginError(error.kind, error.message, output: out + error.output) }
            }
        }
    }
}
