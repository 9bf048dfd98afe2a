/// What an announced storage change means for this instance.
extension Gateway {
    /// Applies the change to `table` another process (or this one) made; nil: the feed just
    /// (re)started, so everything is read again.
    func storageChanged(_ table: String?) async {
        do {
            switch table {
            case "keys": try await keys.refresh(into: runtime)
            case "admin_objects": try await applyManagedObjects()
            case "price_sync": await prices.reloadIfChanged()
            case nil:
                try await keys.refresh(into: runtime)
                await sharedState.refresh()
                await prices.reloadIfChanged()
            default: break
            }
        } catch {
            runtime.logger.warning("cannot apply an announced storage change; polling will", metadata: [
                "table": .string(table ?? "*"), "error": "\(error)"])
        }
    }
}
