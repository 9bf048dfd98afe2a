import BillingPlugin
import FuzzSupport
import Logging
import NIOCore
@testable import TollgateCore

/// The admin API's object parsers: what `PUT /admin/{channels|templates|prices|exchange-rates}/{name}`
/// and `POST /admin/keys` accept. The selector byte picks the parser; the first line of the rest
/// is the object's name (from the URL), the remainder its JSON body. Each parser either accepts
/// or refuses with a GatewayError; admin input is data, so no `${...}` is ever looked up.
let registry: PluginRegistry = {
    let registry = PluginRegistry()
    PluginLoader(logger: Logger(label: "fuzz")).loadLinked(entry: { billingPluginDescriptor() }, name: "billing", into: registry)
    return registry
}()
let engine: BillingEngine = {
    guard let plugin = registry.plugins.first(where: { $0.kind == .billing }), let engine = BillingEngine(plugin: plugin) else {
        fatalError("the linked billing plugin did not load")
    }
    return engine
}()

func refusedCleanly(_ work: () throws -> Void) {
    do { try work() } catch is GatewayError {
    } catch {
        fatalError("an admin parser threw a \(type(of: error)), not a GatewayError: \(error)")
    }
}

func fuzzAdmin(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let (selector, rest) = FuzzInput(start, count).head
    let (names, body) = lines(rest, count: 1)
    let name = names.first ?? "x"
    switch selector % 5 {
    case 0:
        refusedCleanly {
            let channel = try ManagedObjects.channel(named: name, body: body)
            invariant(channel.name == name, "the channel took a name other than its URL's")
            invariant(!channel.credentials.keys.contains { $0.hasSuffix("_file") }, "a credential naming a host file was accepted")
            // Data, not a template: every model given as a string is kept exactly as written.
            if let models = (try? JSONParser.parse(body))?["models"]?.arrayValue {
                invariant(channel.models == models.compactMap(\.stringValue), "models changed on the way in: \(channel.models)")
            }
        }
    case 1:
        refusedCleanly {
            let template = try ManagedObjectsAPI.template(named: name, body: body)
            invariant(template.provider == name, "template under another name")
        }
    case 2:
        _ = try? engine.compile(body)
    case 3:
        refusedCleanly {
            let rate = try ManagedObjectsAPI.exchangeRate(named: name, body: body)
            invariant(rate > 0, "a rate of zero or less")
        }
    default:  // a key to create, or a change to a stored key (PATCH)
        refusedCleanly { _ = try AdminKeys.parseCreate(ByteBuffer(bytes: body), rates: ExchangeRates()) }
        refusedCleanly { _ = try KeyPayload(ByteBuffer(bytes: body), allowed: KeyPayload.changeable).change(rates: ExchangeRates(), now: 0) }
    }
    return 0
}

runFuzzer(fuzzAdmin)
