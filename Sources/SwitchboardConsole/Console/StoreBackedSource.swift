/// A table's rows read from a store: a failed read leaves the list empty with the error
/// on its failure line (never a crash), and the next good read clears it.
protocol StoreBackedSource: AnyObject {
    var failure: String? { get set }
}

extension StoreBackedSource {
    func attempt<T>(_ body: () throws -> T) -> T? {
        do {
            let value = try body()
            failure = nil
            return value
        } catch {
            failure = "\(error)"
            return nil
        }
    }
}
