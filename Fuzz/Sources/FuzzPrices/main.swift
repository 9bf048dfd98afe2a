import FuzzSupport
import TollgateCore

/// The price catalog parser (LiteLLM's price list and local override files), and overlaying one
/// catalog on another.
func fuzzPrices(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes = FuzzInput(start, count).bytes
    guard let catalog = try? PriceCatalog.parse(bytes, source: "fuzz.json") else { return 0 }
    let merged = catalog.overlaid(with: catalog)
    invariant(merged.entries.count == catalog.entries.count, "overlaying a catalog on itself changed its size")
    for (name, entry) in catalog.entries {
        // An entry's kept text is JSON that parses to the object it was read from.
        invariant((try? JSONParser.parse(entry)) != nil, "entry \(name) does not parse again")
    }
    return 0
}

runFuzzer(fuzzPrices)
