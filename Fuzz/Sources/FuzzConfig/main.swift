import FuzzSupport
import TollgateCore

/// The YAML configuration parser and validator, with `${ENV}` substitution.
func fuzzConfig(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let text = String(decoding: FuzzInput(start, count).bytes, as: UTF8.self)
    do {
        let config = try ConfigLoader.parse(text, file: "fuzz.yaml", environment: ["KEY": "sk-1", "PORT": "8080", "EMPTY": ""])
        _ = config.channels.count
    } catch is ConfigError {
    } catch {
        fatalError("ConfigLoader.parse threw a \(type(of: error)), not a ConfigError: \(error)")
    }
    return 0
}

runFuzzer(fuzzConfig)
