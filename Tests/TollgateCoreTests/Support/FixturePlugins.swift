import Foundation
import TestSupport

/// Compiles the C fixture plugins of Fixtures/plugins into a fresh directory with the system
/// C compiler, exactly as a third party would build a plugin against the header.
enum FixturePlugins {
    static var sources: String { BuildProducts.packageRoot + "/Tests/TollgateCoreTests/Fixtures/plugins" }
    static var header: String { BuildProducts.packageRoot + "/Sources/TollgatePluginABI/include" }

    struct CompileError: Error, CustomStringConvertible { var description: String }

    /// Builds `file` (a .c in the fixtures folder) to `directory/output`.
    static func compile(_ file: String, to directory: String, as output: String, defines: [String] = []) throws {
        let arguments = ["-shared", "-fPIC", "-I", header] + defines.map { "-D\($0)" }
            + ["\(sources)/\(file)", "-o", "\(directory)/\(output)"]
        let result = try Subprocess.run("cc", arguments)
        guard result.status == 0 else {
            throw CompileError(description: "cc \(file) failed: \(String(decoding: result.stderr, as: UTF8.self))")
        }
    }

    static func temporaryDirectory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tollgate-plugins-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }
}
