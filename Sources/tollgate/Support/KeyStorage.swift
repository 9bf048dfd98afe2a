import ArgumentParser
import Foundation
import Logging
import TollgateCore

/// Opens the configuration's storage, runs `body`, closes it; a refused change exits with its message.
func withKeyStorage<T>(_ configFile: String?, _ body: (GatewayConfig, any Storage, [String: String]) async throws -> T) async throws -> T {
    let settings = try loadConfig(configFile)
    let storage = try await StorageOpener.open(url: settings.storageURL, logger: makeLogger("error"))
    let reserved = Dictionary(settings.keys.map { ($0.name, $0.source?.description ?? "keys") }, uniquingKeysWith: { first, _ in first })
    do {
        let result = try await body(settings, storage, reserved)
        try? await storage.close()
        return result
    } catch let failure as KeyIssuer.Failure {
        try? await storage.close()
        throw fatal(failure.message)
    } catch {
        try? await storage.close()
        throw error
    }
}

/// `50`, `50 USD`, `12.5 EUR daily`: a budget whose currency has an exchange rate (the config's
/// or one set through the admin API).
func parseBudget(_ text: String, settings: GatewayConfig, storage: any Storage) async throws -> Budget {
    guard let budget = Budget.parse(text) else {
        throw fatal("--budget must be like '50 USD monthly' (period: \(Budget.Period.allCases.map(\.rawValue).joined(separator: ", ")))")
    }
    let stored = try await storage.objects(kind: .exchangeRate).map(\.name)
    guard settings.pricing.exchangeRates.rates[budget.currency] != nil || stored.contains(budget.currency) else {
        throw fatal("budget currency \(budget.currency) has no exchange rate: add it under pricing.exchange_rates or /admin/exchange-rates")
    }
    return budget
}

func modelList(_ text: String) -> [String] {
    text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
}
