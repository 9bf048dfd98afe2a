import TollgatePluginABI

/// The one place that reads `struct_size`. ABI structs grow only by appending fields, and each
/// starts with `struct_size`, set by the side that filled it in; so a struct from the other side
/// of the ABI (a plugin's descriptor or hook table for the core, the core's request structs for a
/// plugin) holds exactly the fields of the minor version that side was built for. The core's
/// plugin loader and the plugin kit both read such structs through these two functions only.
public enum StructSize {
    /// Whether a struct the other side filled with `structSize` bytes holds `field` whole.
    public static func holds<T, Field>(_ field: KeyPath<T, Field>, structSize: Int) -> Bool {
        guard let offset = MemoryLayout<T>.offset(of: field) else { return false }
        return structSize >= offset + MemoryLayout<Field>.size
    }

    /// A copy of the struct at `pointer`, of which the other side filled `structSize` bytes: the
    /// fields past them (appended by a later minor version) read as zero, so a hook an older
    /// plugin lacks reads as NULL.
    public static func copy<T>(_ pointer: UnsafePointer<T>, structSize: Int) -> T {
        let size = MemoryLayout<T>.size
        let raw = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: MemoryLayout<T>.alignment)
        defer { raw.deallocate() }
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: size)
        raw.copyMemory(from: pointer, byteCount: min(max(structSize, 0), size))
        return raw.load(as: T.self)
    }
}
