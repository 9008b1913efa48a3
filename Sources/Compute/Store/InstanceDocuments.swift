import StratusCore
import Synchronization

extension InstanceDetails {
    /// Parsed `doc` columns by their text, the least recently used forgotten past 16 MiB. A
    /// list reads the same unchanged documents again and again, and parsing them was a third of
    /// what `GET /servers/detail` cost; the text is the key, so a changed document is parsed anew.
    private static let parsed = Mutex(LRUCache<String, InstanceDetails>(byteLimit: 16 << 20))

    /// The details a `doc` column holds.
    static func parsing(_ text: String) throws -> InstanceDetails {
        if let cached = parsed.withLock({ $0.value(for: text) }) { return cached }
        let details = InstanceDetails(try JSON.parse(text).objectValue ?? [:])
        // The text twice over (key and parsed strings) and the parsed values' own structure.
        parsed.withLock { $0.set(details, for: text, cost: 3 * text.utf8.count + 256) }
        return details
    }
}
