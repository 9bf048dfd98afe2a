import ArgumentParser
import Foundation
import TollgateCore

struct Prices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage model prices.", subcommands: [PricesSync.self])
}
