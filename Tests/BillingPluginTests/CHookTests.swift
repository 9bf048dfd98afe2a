import Testing
import TollgatePluginABI
import TollgatePluginKit
@testable import BillingPlugin

/// The plugin as the core sees it: the descriptor and its C billing hooks.
@Suite struct CHookTests {
    var descriptor: tollgate_type_plugin_descriptor {
        billingPluginDescriptor().assumingMemoryBound(to: tollgate_type_plugin_descriptor.self).pointee
    }

    @Test func describesABillingPlugin() throws {
        let d = descriptor
        #expect(d.kind == TOLLGATE_KIND_BILLING)
        #expect(d.abi_major == UInt16(TOLLGATE_ABI_VERSION_MAJOR))
        #expect(boundedCString(d.name) == "billing")
        #expect(d.provider_id_count == 0)
        #expect(d.adaptor == nil)
        let hooks = try #require(d.billing?.pointee)
        #expect(hooks.struct_size == MemoryLayout<tollgate_type_billing_hooks>.size)
        #expect(billingPluginDescriptor() == billingPluginDescriptor(), "one static descriptor")
    }

    /// Compiles an entry through on_price_new; returns the handle or the error.
    func priceNew(_ json: String) -> (OpaquePointer?, tollgate_status, String) {
        let hooks = descriptor.billing!.pointee
        var handle: OpaquePointer?
        var error = tollgate_type_buffer()
        let status = withBytesView(json) { hooks.on_price_new!($0, &handle, &error) }
        let message = error.string
        descriptor.free_buffer!(&error)
        return (handle, status, message)
    }

    func compute(_ price: OpaquePointer?, usage: TokenUsage, flags: UInt32 = 0, region: String = "")
        -> (tollgate_status, Int64, String, String, String) {
        let d = descriptor
        var request = tollgate_type_bill_request()
        request.struct_size = MemoryLayout<tollgate_type_bill_request>.size
        request.price = price
        usage.write(into: &request.usage)
        request.flags = flags
        var cost = tollgate_type_cost()
        var breakdown = tollgate_type_buffer()
        var error = tollgate_type_buffer()
        let status = withBytesView(region) { view in
            request.region = view
            return d.billing!.pointee.on_compute_cost!(&request, &cost, &breakdown, &error)
        }
        let currency = withUnsafeBytes(of: cost.currency) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let result = (status, cost.nano_units, currency, breakdown.string, error.string)
        d.free_buffer!(&breakdown)
        d.free_buffer!(&error)
        return result
    }

    @Test func pricesThroughTheHookTable() throws {
        let (price, status, _) = priceNew(Billing.sonnet)
        #expect(status == TOLLGATE_OK)
        defer { descriptor.billing!.pointee.on_price_destroy!(price) }
        let (costStatus, nano, currency, breakdown, _) = compute(price, usage: TokenUsage(prompt: 100_000, completion: 50_000, cacheRead: 50_000))
        #expect(costStatus == TOLLGATE_OK)
        #expect(nano == 915_000_000)
        #expect(currency == "USD")
        #expect(try JSONParser.parse(breakdown)["rule"]?.stringValue == "standard")
        let (euro, _, _) = priceNew(#"{"currency": "EUR", "input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06}"#)
        defer { descriptor.billing!.pointee.on_price_destroy!(euro) }
        #expect(compute(euro, usage: TokenUsage(prompt: 1_000, completion: 0)).2 == "EUR")
        let batch = compute(price, usage: TokenUsage(prompt: 100_000, completion: 50_000), flags: UInt32(TOLLGATE_BILL_BATCH))
        #expect(batch.1 == 525_000_000)
        let priority = compute(price, usage: TokenUsage(prompt: 100_000, completion: 50_000),
                               flags: UInt32(TOLLGATE_BILL_BATCH) | UInt32(TOLLGATE_BILL_PRIORITY))
        #expect(priority.1 == 1_785_000_000)
    }

    @Test func regionsAndCurrencyCrossTheBoundary() {
        let (price, status, _) = priceNew(#"{"currency": "CNY", "input_cost_per_token": 1e-06, "regions": {"cn": {"input_cost_per_token": 5e-07}}}"#)
        #expect(status == TOLLGATE_OK)
        defer { descriptor.billing!.pointee.on_price_destroy!(price) }
        let cn = compute(price, usage: TokenUsage(prompt: 1_000), region: "cn")
        #expect(cn.1 == 500_000 && cn.2 == "CNY")
        #expect(compute(price, usage: TokenUsage(prompt: 1_000)).1 == 1_000_000)
    }

    @Test func reportsErrorsWithMessages() {
        let (bad, status, message) = priceNew(#"{"tiered_pricing": [{"range": [0, 2000], "input_cost_per_token": 1e-06}, {"range": [2000, 1000], "input_cost_per_token": 2e-06}]}"#)
        #expect(status == TOLLGATE_ERR_CONFIG)
        #expect(bad == nil)
        #expect(message == "tiered_pricing[1].range: end 1000 is before start 2000")
        #expect(priceNew("not json").1 == TOLLGATE_ERR_CONFIG)

        let (price, _, _) = priceNew(#"{"input_cost_per_token": 1e-06}"#)
        defer { descriptor.billing!.pointee.on_price_destroy!(price) }
        let missing = compute(price, usage: TokenUsage(prompt: 10, completion: 5))
        #expect(missing.0 == TOLLGATE_ERR_CONFIG)
        #expect(missing.4 == "no price for output tokens (5): the entry has no output_cost_per_token")
        #expect(compute(price, usage: TokenUsage(prompt: 1), region: "mars").0 == TOLLGATE_ERR_INVALID_INPUT)
    }
}
