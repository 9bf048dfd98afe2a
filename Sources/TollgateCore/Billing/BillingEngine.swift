import TollgatePluginABI

/// The core's side of a billing plugin: compiles price entries once and prices requests through
/// the plugin's hooks. Stateless apart from the plugin, so any thread may call it.
public final class BillingEngine: Sendable {
    public let plugin: LoadedPlugin
    let hooks: tollgate_type_billing_hooks

    public init?(plugin: LoadedPlugin) {
        guard plugin.kind == .billing, let table = plugin.descriptor.pointee.billing else { return nil }
        self.plugin = plugin
        hooks = table.pointee
    }

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Compiles one price entry (a LiteLLM entry with Tollgate's extensions, see docs/billing.md).
    public func compile(_ entryJSON: [UInt8]) throws(Failure) -> CompiledPrice {
        var handle: OpaquePointer?
        var error = tollgate_type_buffer.empty
        let status = withBytesView(entryJSON) { hooks.on_price_new($0, &handle, &error) }
        let message = plugin.takeString(&error)
        guard status == TOLLGATE_OK, let handle else {
            throw Failure(message: message.isEmpty ? "refused (\(status.name))" : message)
        }
        return CompiledPrice(handle: handle, destroy: hooks.on_price_destroy, plugin: plugin)
    }

    /// What one request costs. `breakdown` is the plugin's explanation (JSON); without
    /// `explained` the plugin may skip making it (the request path does not read it).
    public func cost(_ price: CompiledPrice, usage: TokenUsage, marks: BillingMarks, region: String?,
                     explained: Bool = true) throws(Failure) -> (money: Money, breakdown: String)
    {
        var request = tollgate_type_bill_request()
        request.struct_size = MemoryLayout<tollgate_type_bill_request>.size
        request.price = price.handle
        usage.write(into: &request.usage)
        request.flags = marks.abiFlags | (explained ? 0 : UInt32(TOLLGATE_BILL_NO_BREAKDOWN))
        var cost = tollgate_type_cost()
        var breakdown = tollgate_type_buffer.empty
        var error = tollgate_type_buffer.empty
        let status = withBytesView(region ?? "") { regionBytes in
            request.region = regionBytes
            return hooks.on_compute_cost(&request, &cost, &breakdown, &error)
        }
        let explanation = plugin.takeString(&breakdown)
        let message = plugin.takeString(&error)
        guard status == TOLLGATE_OK else { throw Failure(message: message.isEmpty ? "cannot price (\(status.name))" : message) }
        let currency = withUnsafeBytes(of: cost.currency) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        return (Money(nanoUnits: cost.nano_units, currency: currency.isEmpty ? "USD" : currency), explanation)
    }
}

/// A price entry compiled by the billing plugin; released through the plugin when dropped (so
/// it holds the plugin, whose code frees it).
public final class CompiledPrice: @unchecked Sendable {
    let handle: OpaquePointer
    private let destroy: (@convention(c) (OpaquePointer?) -> Void)?
    private let plugin: LoadedPlugin

    init(handle: OpaquePointer, destroy: (@convention(c) (OpaquePointer?) -> Void)?, plugin: LoadedPlugin) {
        self.handle = handle
        self.destroy = destroy
        self.plugin = plugin
    }

    deinit { destroy?(handle) }
}
