import VertexPlugin

/// The one symbol the core looks up in `libtollgate-vertex.so`.
@_cdecl("tollgate_plugin_entry")
public func tollgatePluginEntry() -> UnsafeRawPointer { VertexPluginDescriptor.make() }
