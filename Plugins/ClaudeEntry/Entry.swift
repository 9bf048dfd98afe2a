import ClaudePlugin

/// The one symbol the gateway looks up in `libtollgate-claude.so`.
@_cdecl("tollgate_plugin_entry")
public func tollgatePluginEntry() -> UnsafeRawPointer { claudePluginDescriptor() }
