import BedrockPlugin

/// The one symbol the gateway looks up in `libtollgate-bedrock.so`.
@_cdecl("tollgate_plugin_entry")
public func tollgatePluginEntry() -> UnsafeRawPointer { bedrockPluginDescriptor() }
