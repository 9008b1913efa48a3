/// A map that forgets its least recently used entries once their costs, in bytes as the caller
/// estimates them, pass `byteLimit`. Entries live in one array linked by index, so a hit or an
/// insert allocates nothing once the cache has filled. Not thread-safe: keep it in a `Mutex`.
public struct LRUCache<Key: Hashable, Value> {
    fileprivate struct Slot {
        var key: Key
        /// Nil once removed, so a free slot holds no memory of its old value.
        var value: Value?
        var cost: Int
        var newer = -1
        var older = -1
    }

    public let byteLimit: Int
    /// The sum of the costs of the entries held; never above `byteLimit` between calls.
    public private(set) var bytes = 0
    private var index: [Key: Int] = [:]
    private var slots: [Slot] = []
    private var unused: [Int] = []
    private var newest = -1
    private var oldest = -1

    public init(byteLimit: Int) {
        self.byteLimit = byteLimit
    }

    public var count: Int { index.count }

    /// The value for `key`, which becomes the most recently used.
    public mutating func value(for key: Key) -> Value? {
        guard let slot = index[key] else { return nil }
        moveToFront(slot)
        return slots[slot].value
    }

    /// Stores `value` for `key` as the most recently used entry, then drops the least recently
    /// used until the costs fit. A value costing more than `byteLimit` is not kept at all.
    public mutating func set(_ value: Value, for key: Key, cost: Int) {
        remove(key)
        guard cost <= byteLimit else { return }
        let slot: Int
        let entry = Slot(key: key, value: value, cost: cost)
        if let reused = unused.popLast() {
            slot = reused
            slots[slot] = entry
        } else {
            slot = slots.count
            slots.append(entry)
        }
        index[key] = slot
        bytes += cost
        link(slot)
        while bytes > byteLimit, oldest >= 0 { remove(slots[oldest].key) }
    }

    public mutating func remove(_ key: Key) {
        guard let slot = index.removeValue(forKey: key) else { return }
        unlink(slot)
        bytes -= slots[slot].cost
        slots[slot].value = nil
        unused.append(slot)
    }

    public mutating func removeAll() {
        index.removeAll()
        slots.removeAll()
        unused.removeAll()
        bytes = 0
        newest = -1
        oldest = -1
    }

    private mutating func moveToFront(_ slot: Int) {
        guard slot != newest else { return }
        unlink(slot)
        link(slot)
    }

    private mutating func link(_ slot: Int) {
        slots[slot].older = newest
        slots[slot].newer = -1
        if newest >= 0 { slots[newest].newer = slot }
        newest = slot
        if oldest < 0 { oldest = slot }
    }

    private mutating func unlink(_ slot: Int) {
        let (newer, older) = (slots[slot].newer, slots[slot].older)
        if newer >= 0 { slots[newer].older = older } else { newest = older }
        if older >= 0 { slots[older].newer = newer } else { oldest = newer }
    }
}

extension LRUCache: Sendable where Key: Sendable, Value: Sendable {}
extension LRUCache.Slot: Sendable where Key: Sendable, Value: Sendable {}
