/// A configuration problem, located as precisely as the source allows:
/// `tollgate.yaml:12:5: channels[0].base_url: must be an http:// or https:// URL`.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public var file: String
    public var line: Int?
    public var column: Int?
    public var key: String
    public var message: String

    public init(file: String, line: Int? = nil, column: Int? = nil, key: String, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.key = key
        self.message = message
    }

    public var description: String {
        var place = file
        if let line { place += ":\(line)" }
        if let column { place += ":\(column)" }
        return key.isEmpty ? "\(place): \(message)" : "\(place): \(key): \(message)"
    }
}
