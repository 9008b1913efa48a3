/// A map that forgets its least recently used entries once their costs, in bytes as the caller
/// estimates them, pass `byteLimit`. Entries live in one array linked by index, so a hit or an
/// insert allocates nothing once the cache has filled. Not thread-safe: keep it in a `Mutex`.
/// Inlinable, so that each module's use is specialised for its types (generic code through
/// value witnesses cost a third of a cached lookup).
public struct LRUCache<Key: Hashable, Value> {
    @usableFromInline struct Slot {
        @usableFromInline var key: Key
        /// Nil once removed, so a free slot holds no memory of its old value.
        @usableFromInline var value: Value?
        @usableFromInline var cost: Int
        @usableFromInline var newer = -1
        @usableFromInline var older = -1

        @inlinable init(key: Key, value: Value?, cost: Int) {
            self.key = key
            self.value = value
            self.cost = cost
        }
    }

    public let byteLimit: Int
    /// The sum of the costs of the entries held; never above `byteLimit` between calls.
    public var bytes: Int { storedBytes }
    @usableFromInline var storedBytes = 0
    @usableFromInline var index: [Key: Int] = [:]
    @usableFromInline var slots: [Slot] = []
    @usableFromInline var unused: [Int] = []
    @usableFromInline var newest = -1
    @usableFromInline var oldest = -1

    @inlinable public init(byteLimit: Int) {
        self.byteLimit = byteLimit
    }

    @inlinable public var count: Int { index.count }

    /// The keys held, in no particular order.
    @inlinable public var keys: Dictionary<Key, Int>.Keys { index.keys }

    /// The value for `key`, which becomes the most recently used.
    @inlinable public mutating func value(for key: Key) -> Value? {
        guard let slot = index[key] else { return nil }
        moveToFront(slot)
        return slots[slot].value
    }

    /// Stores `value` for `key` as the most recently used entry, then drops the least recently
    /// used until the costs fit. A value costing more than `byteLimit` is not kept at all.
    @inlinable public mutating func set(_ value: Value, for key: Key, cost: Int) {
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
        storedBytes += cost
        link(slot)
        while storedBytes > byteLimit, oldest >= 0 { remove(slots[oldest].key) }
    }

    @inlinable public mutating func remove(_ key: Key) {
        guard let slot = index.removeValue(forKey: key) else { return }
        unlink(slot)
        storedBytes -= slots[slot].cost
        slots[slot].value = nil
        unused.append(slot)
    }

    @inlinable public mutating func removeAll() {
        index.removeAll()
        slots.removeAll()
        unused.removeAll()
        storedBytes = 0
        newest = -1
        oldest = -1
    }

    @inlinable mutating func moveToFront(_ slot: Int) {
        guard slot != newest else { return }
        unlink(slot)
        link(slot)
    }

    @inlinable mutating func link(_ slot: Int) {
        slots[slot].older = newest
        slots[slot].newer = -1
        if newest >= 0 { slots[newest].newer = slot }
        newest = slot
        if oldest < 0 { oldest = slot }
    }

    @inlinable mutating func unlink(_ slot: Int) {
        let (newer, older) = (slots[slot].newer, slots[slot].older)
        if newer >= 0 { slots[newer].older = older } else { newest = older }
        if older >= 0 { slots[older].newer = newer } else { oldest = newer }
    }
}

extension LRUCache: Sendable where Key: Sendable, Value: Sendable {}
extension LRUCache.Slot: Sendable where Key: Sendable, Value: Sendable {}
