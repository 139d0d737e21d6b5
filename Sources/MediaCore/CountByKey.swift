extension Dictionary where Value == Int {
    /// Takes one from `key`'s count and drops the key at zero, so a table of counts per client address holds only
    /// the addresses with something open.
    public mutating func decrementCount(_ key: Key) {
        guard let count = self[key] else { return }
        self[key] = count > 1 ? count - 1 : nil
    }
}
