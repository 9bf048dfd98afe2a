import Foundation

/// Compiles the C fixture plugins of Fixtures/plugins into a fresh directory with the system
/// C compiler, exactly as a third party would build a plugin against the header.
enum FixturePlugins {
    static var sources: String { BuildProducts.packageRoot + "/Tests/TollgateCoreTests/Fixtures/plugins" }
    static var header: String { BuildProducts.packageRoot + "/Sources/TollgatePluginABI/include" }

    struct CompileError: Error, CustomStringConvertible { var description: String }

    /// Builds `file` (a .c in the fixtures folder) to `directory/output`.
    static func compile(_ file: String, to directory: String, as output: String, defines: [String] = []) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["cc", "-shared", "-fPIC", "-I", header] + defines.map { "-D\($0)" }
            + ["\(sources)/\(file)", "-o", "\(directory)/\(output)"]
        let pipe = Pipe()
        process.standardError = pipe
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let message = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw CompileError(description: "cc \(file) failed: \(message)")
        }
    }

    static func temporaryDirectory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tollgate-plugins-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }
}
