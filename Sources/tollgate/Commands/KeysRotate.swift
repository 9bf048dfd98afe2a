import ArgumentParser
import Foundation
import TollgateCore

struct KeysRotate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate", abstract: "Give a stored key a new secret, printed this once; the old one works during --grace.")

    @Option(help: "YAML configuration file (default: the embedded default's data directory).") var config: String?
    @Argument(help: "The key's name.") var name: String
    @Option(help: "How long the old secret keeps working: 24h, 30m, 90s, 0 (refused at once).") var grace = "24h"

    func run() async throws {
        guard let seconds = KeyIssuer.parseGrace(grace), seconds <= KeyIssuer.maxGraceSeconds else {
            throw fatal("--grace must be like 24h, 30m, 90s or 0, at most 90d")
        }
        let (stored, key) = try await withKeyStorage(config) { _, storage, reserved in
            try await KeyIssuer.rotate(name, graceSeconds: seconds, storage: storage, reserved: reserved)
        }
        print(key)
        let old = stored.previousValidUntil.map {
            "The old key works until \(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double($0))))."
        } ?? "The old key is refused from now on."
        FileHandle.standardError.write(Data("Rotated key '\(stored.name)'. The new key is shown only now: store it safely. \(old)\n".utf8))
    }
}
