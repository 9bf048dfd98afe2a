import GeminiPlugin

/// The one symbol the gateway looks up in `libtollgate-gemini.so`.
@_cdecl("tollgate_plugin_entry")
public func tollgatePluginEntry() -> UnsafeRawPointer { geminiPluginDescriptor() }
