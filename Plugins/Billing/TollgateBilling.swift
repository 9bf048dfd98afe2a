import TollgatePluginKit

/// The billing plugin: compiles LiteLLM-style price entries and prices requests with them.
public enum TollgateBilling: BillingPlugin {
    public static let name = "billing"
    public static let version = "1.0.0"

    public static func makePrice(entry: JSONValue) throws(PluginError) -> any BillingPrice {
        try PriceEntry(entry: entry)
    }
}

/// The descriptor; exported as `tollgate_plugin_entry` by the `BillingPluginEntry` target, so tests
/// and the core can link this library beside other plugins without clashing symbols.
public func billingPluginDescriptor() -> UnsafeRawPointer { PluginExport.billing(TollgateBilling.self) }
