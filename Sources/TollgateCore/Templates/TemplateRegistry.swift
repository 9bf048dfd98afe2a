import Foundation
import Logging
import Synchronization

/// Every template the gateway offers: those read from the templates directory and those
/// installed through `install(templateJSON:)` (the admin API's entry point). Each is validated;
/// a bad one is refused with its source and field named, the others load. A file that turns bad
/// keeps its last good version in service, so a half-written file never takes a provider down.
/// Changes are announced to `onChange` with the provider ids whose template changed.
public final class TemplateRegistry: Sendable {
    private struct Scanned {
        var source: String
        var result: Result<AdaptorTemplate, TemplateError>
    }

    private struct State {
        var scanned: [Scanned] = []
        var installed: [String: AdaptorTemplate] = [:]
        var byProvider: [String: AdaptorTemplate] = [:]
        var reports: [TemplateReport] = []
    }

    /// Provider ids taken by plugins (a template may not take them); plugins come and go.
    private let reservedIDs: Mutex<Set<String>>
    public var reserved: Set<String> { reservedIDs.withLock { $0 } }
    private let logger: Logger
    private let state = Mutex(State())
    /// Serialises updates, so announcements arrive in order and never overlap.
    private let updating = Mutex(())
    private let changeHandler = Mutex<(@Sendable (Set<String>) -> Void)?>(nil)

    /// Without a logger, only errors are logged (tools and tests that read `reports` instead).
    public init(reserved: Set<String> = [], logger: Logger? = nil) {
        reservedIDs = Mutex(reserved)
        self.logger = logger ?? { var quiet = Logger(label: "tollgate.templates"); quiet.logLevel = .error; return quiet }()
    }

    /// Called after each change with the provider ids whose template was added, changed or removed.
    public func onChange(_ handler: @escaping @Sendable (Set<String>) -> Void) { changeHandler.withLock { $0 = handler } }

    public func template(for provider: String) -> AdaptorTemplate? { state.withLock { $0.byProvider[provider] } }
    public var providerIDs: Set<String> { state.withLock { Set($0.byProvider.keys) } }
    /// Providers of templates installed through `install` (not files).
    public var installedProviders: [String] { state.withLock { Array($0.installed.keys) } }
    public var reports: [TemplateReport] { state.withLock { $0.reports } }

    /// Sets the provider ids plugins serve now and recomputes which templates are in force.
    @discardableResult
    public func reserve(_ ids: Set<String>) -> Set<String> {
        update { _ in reservedIDs.withLock { $0 = ids } }
    }

    /// Reads every `*.json` in `directory` again (a missing directory holds none).
    @discardableResult
    public func reload(directory: String) -> Set<String> {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let scanned = names.filter(Self.isTemplateFile).sorted().map { name in
            let path = (directory as NSString).appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: path) else {
                return Scanned(source: path, result: .failure(TemplateError(source: path, field: "", message: "cannot be read")))
            }
            return Scanned(source: path, result: Result { () throws(TemplateError) in try AdaptorTemplate.parse(Array(data), source: path) })
        }
        return update { $0.scanned = scanned }
    }

    /// `*.json`, except JSON Schemas (`*.schema.json`) kept beside the templates.
    static func isTemplateFile(_ name: String) -> Bool { name.hasSuffix(".json") && !name.hasSuffix(".schema.json") }

    /// Validates and adds (or replaces) a template of the provider it names; throws the reason
    /// it was refused. The admin API calls this; storing templates in the database is its part.
    @discardableResult
    public func install(templateJSON: [UInt8], source: String = "admin") throws(TemplateError) -> AdaptorTemplate {
        let template = try AdaptorTemplate.parse(templateJSON, source: source)
        if reserved.contains(template.provider) {
            throw TemplateError(source: source, field: "provider", message: "'\(template.provider)' is served by a plugin")
        }
        let file = state.withLock { $0.installed[template.provider] == nil ? $0.byProvider[template.provider] : nil }
        if let file { throw TemplateError(source: source, field: "provider", message: "'\(template.provider)' is defined by \(file.source)") }
        update { $0.installed[template.provider] = template }
        return template
    }

    /// Removes an installed template; returns whether there was one.
    @discardableResult
    public func uninstall(provider: String) -> Bool {
        var removed = false
        update { state in removed = state.installed.removeValue(forKey: provider) != nil }
        return removed
    }

    /// Applies an edit, recomputes what is served, and announces the providers that changed.
    private func update(_ edit: (inout State) -> Void) -> Set<String> {
        updating.withLock { _ in
            let (changed, fresh) = state.withLock { state -> (Set<String>, [TemplateReport]) in
                let before = state.byProvider
                edit(&state)
                let previousReports = state.reports
                merge(&state, previous: before)
                let changed = Set(before.keys).union(state.byProvider.keys).filter { before[$0] != state.byProvider[$0] }
                return (changed, state.reports.filter { !previousReports.contains($0) })
            }
            for report in fresh {
                if case .refused = report.status {
                    logger.warning("template refused", metadata: ["template": .string(report.line)])
                } else {
                    logger.info("template loaded", metadata: ["template": .string(report.line)])
                }
            }
            if !changed.isEmpty, let handler = changeHandler.withLock({ $0 }) { handler(changed) }
            return changed
        }
    }

    /// Installed templates first, then files in name order; the first source of an id wins.
    private func merge(_ state: inout State, previous: [String: AdaptorTemplate]) {
        let reserved = self.reserved
        var served = state.installed
        var reports = state.installed.values.sorted { $0.provider < $1.provider }
            .map { TemplateReport(source: $0.source, status: .loaded(provider: $0.provider, name: $0.name)) }
        for scan in state.scanned {
            switch scan.result {
            case .success(let template):
                if reserved.contains(template.provider) {
                    reports.append(TemplateReport(source: scan.source, status: .refused(reason: "provider: '\(template.provider)' is served by a plugin")))
                } else if let owner = served[template.provider] {
                    reports.append(TemplateReport(source: scan.source, status: .refused(reason: "provider: '\(template.provider)' is already defined by \(owner.source)")))
                } else {
                    served[template.provider] = template
                    reports.append(TemplateReport(source: scan.source, status: .loaded(provider: template.provider, name: template.name)))
                }
            case .failure(let error):
                var reason = error.field.isEmpty ? error.message : "\(error.field): \(error.message)"
                if let last = previous.values.first(where: { $0.source == scan.source }), served[last.provider] == nil {
                    served[last.provider] = last
                    reason += " (its last good version stays in service)"
                }
                reports.append(TemplateReport(source: scan.source, status: .refused(reason: reason)))
            }
        }
        state.byProvider = served
        state.reports = reports
    }
}
