import ArgumentParser
import Foundation
import TollgateCore

/// `tollgate keys create|list|update|rotate|revoke`: client keys kept in storage. A running
/// gateway picks a change up on its next storage refresh (every 2 s by default).
struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create, list, change, rotate and revoke client keys kept in storage.",
                                                    subcommands: [KeysCreate.self, KeysList.self, KeysUpdate.self, KeysRotate.self,
                                                                  KeysRevoke.self])
}
