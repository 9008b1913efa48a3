/// One sync at a time inside an agent's actor: a state that arrives while a sync runs waits
/// for it, replacing any older waiting state, so only the latest is applied next.
struct SyncQueue<State: Sendable>: Sendable {
    private var busy = false
    private var waiting: State?

    /// `state` if it should be applied now; nil if the running sync will pick it up.
    mutating func enter(_ state: State) -> State? {
        guard !busy else {
            waiting = state
            return nil
        }
        busy = true
        return state
    }

    /// The state that arrived meanwhile, or nil when the sync is done.
    mutating func next() -> State? {
        defer { waiting = nil }
        if waiting == nil { busy = false }
        return waiting
    }
}
