import TollgatePluginABI

/// The billing C hooks over the exported `BillingPlugin` type (see `PluginExport.billing`).
nonisolated(unsafe) var exportedBillingType: (any BillingPlugin.Type)?

private final class PriceBox { let price: any BillingPrice; init(_ p: any BillingPrice) { price = p } }

let billingHooks = tollgate_type_billing_hooks(
    struct_size: MemoryLayout<tollgate_type_billing_hooks>.size,
    on_price_new: { json, out, errorOut in
        guard let type = exportedBillingType else { return TOLLGATE_ERR_INTERNAL }
        do {
            let entry: JSONValue
            do { entry = try JSONParser.parse(bytes(json)) } catch { throw PluginError(.config, "price entry is not JSON: \(error)") }
            out?.pointee = retain(PriceBox(try type.makePrice(entry: entry)))
            return TOLLGATE_OK
        } catch { return report(error, errorOut) }
    },
    on_price_destroy: { release($0) },
    on_compute_cost: { request, out, breakdown, errorOut in
        guard let r = request?.pointee, let box = borrow(r.price, as: PriceBox.self), let out else {
            return TOLLGATE_ERR_INTERNAL
        }
        do {
            // A core older than the region field sends a shorter struct: treat it as universal.
            let hasRegion = StructSize.holds(\tollgate_type_bill_request.region, structSize: r.struct_size)
            let result = try box.price.cost(BillRequest(
                usage: TokenUsage(r.usage),
                batch: r.flags & UInt32(TOLLGATE_BILL_BATCH) != 0,
                priority: r.flags & UInt32(TOLLGATE_BILL_PRIORITY) != 0,
                region: hasRegion ? r.region.string : "",
                wantsBreakdown: r.flags & UInt32(TOLLGATE_BILL_NO_BREAKDOWN) == 0))
            out.pointee.nano_units = result.nanoUnits
            out.pointee.currency = currencyCode(result.currency)
            breakdown?.pointee = allocate(result.breakdown)
            return TOLLGATE_OK
        } catch { return report(error, errorOut) }
    })

/// Three ASCII letters and a NUL, as `tollgate_type_cost.currency` holds them, read off the
/// code's bytes (an array for them cost two allocations a request).
private func currencyCode(_ code: String) -> (CChar, CChar, CChar, CChar) {
    var bytes = code.utf8.makeIterator()
    func next() -> CChar { bytes.next().map { CChar(bitPattern: $0) } ?? 0 }
    return (next(), next(), next(), 0)
}
