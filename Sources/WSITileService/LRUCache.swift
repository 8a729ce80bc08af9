import Foundation

/// A least-recently-used cache bounded in bytes, safe to share between request handlers.
public final class LRUCache<Key: Hashable & Sendable, Value: Sendable>: @unchecked Sendable {
    private final class Node {
        let key: Key
        var value: Value
        var cost: Int
        var previous: Node?
        var next: Node?
        init(key: Key, value: Value, cost: Int) { self.key = key; self.value = value; self.cost = cost }
    }

    public let capacity: Int
    private var nodes: [Key: Node] = [:]
    private var head: Node?
    private var tail: Node?
    private var total = 0
    private let lock = NSLock()

    /// `capacity` in bytes (or whatever unit `cost` uses).
    public init(capacity: Int) { self.capacity = capacity }

    public var totalCost: Int { lock.withLock { total } }
    public var count: Int { lock.withLock { nodes.count } }

    public func value(_ key: Key) -> Value? {
        lock.withLock {
            guard let node = nodes[key] else { return nil }
            moveToFront(node)
            return node.value
        }
    }

    public func insert(_ value: Value, for key: Key, cost: Int) {
        guard cost <= capacity else { return }
        lock.withLock {
            if let node = nodes[key] {
                total += cost - node.cost
                node.value = value
                node.cost = cost
                moveToFront(node)
            } else {
                let node = Node(key: key, value: value, cost: cost)
                nodes[key] = node
                total += cost
                node.next = head
                head?.previous = node
                head = node
                if tail == nil { tail = node }
            }
            while total > capacity, let last = tail { remove(last) }
        }
    }

    public func removeAll() {
        lock.withLock {
            nodes.removeAll()
            head = nil
            tail = nil
            total = 0
        }
    }

    private func moveToFront(_ node: Node) {
        guard head !== node else { return }
        unlink(node)
        node.next = head
        head?.previous = node
        head = node
        if tail == nil { tail = node }
    }

    private func unlink(_ node: Node) {
        node.previous?.next = node.next
        node.next?.previous = node.previous
        if head === node { head = node.next }
        if tail === node { tail = node.previous }
        node.previous = nil
        node.next = nil
    }

    private func remove(_ node: Node) {
        unlink(node)
        nodes[node.key] = nil
        total -= node.cost
    }
}
