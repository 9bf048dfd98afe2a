import VertexPlugin

/// The one symbol the gateway looks up in `libtollgate-vertex.so`.
@_cdecl("tollgate_plugin_entry")
public func tollgatePluginEntry() -> UnsafeRawPointer { vertexPluginDescriptor() }
