import BillingPlugin

/// The one symbol the gateway looks up in `libtollgate-billing.so`.
@_cdecl("tollgate_plugin_entry")
public func tollgatePluginEntry() -> UnsafeRawPointer { billingPluginDescriptor() }
