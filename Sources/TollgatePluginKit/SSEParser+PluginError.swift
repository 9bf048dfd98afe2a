/// `SSEParser` with the kit's typed errors, for plugin streams: an oversized event is an
/// `.upstream` failure, and the event reaches the callback as a value.
extension SSEParser {
    public mutating func read(_ chunk: UnsafeRawBufferPointer, _ onEvent: (SSEEvent) throws(PluginError) -> Void) throws(PluginError) {
        do {
            try feed(chunk) { event in try onEvent(event) }
        } catch let error as PluginError {
            throw error
        } catch let error as SSEParser.TooLarge {
            throw PluginError(.upstream, "upstream sent an SSE event larger than \(error.limit) bytes")
        } catch {
            throw PluginError(.upstream, "\(error)")
        }
    }

    public mutating func read(_ bytes: [UInt8], _ onEvent: (SSEEvent) throws(PluginError) -> Void) throws(PluginError) {
        var failure: PluginError?
        bytes.withUnsafeBytes { raw in
            do throws(PluginError) { try read(raw, onEvent) } catch { failure = error }
        }
        if let failure { throw failure }
    }
}
