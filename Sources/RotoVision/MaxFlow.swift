/// Boykov–Kolmogorov max-flow / min-cut (search trees from both terminals, reused between
/// augmentations) for the small, sparse graphs of superpixels.
///
/// Terminal links are stored as one residual value per node (positive: residual from the source,
/// negative: residual to the sink). After `run()`, `sourceSide(i)` tells whether node `i` is on the
/// source (foreground) side of the minimum cut.
struct MaxFlow {
    let nodeCount: Int
    private var head: [Int32]
    private var nextEdge: [Int32] = []
    private var to: [Int32] = []
    private var cap: [Double] = []
    private var terminal: [Double]
    private var tree: [UInt8]  // 0 free, 1 source tree, 2 sink tree

    private static let noParent: Int32 = -1
    private static let terminalParent: Int32 = -2
    private static let orphanParent: Int32 = -3

    /// A graph with `n` nodes (0..<n) plus the two terminals, with room for `edges` `addEdge` calls.
    init(nodes n: Int, edges: Int = 0) {
        nodeCount = n
        head = [Int32](repeating: -1, count: n)
        terminal = [Double](repeating: 0, count: n)
        tree = [UInt8](repeating: 0, count: n)
        nextEdge.reserveCapacity(2 * edges)
        to.reserveCapacity(2 * edges)
        cap.reserveCapacity(2 * edges)
    }

    /// Adds `u → v` with capacity `c` and `v → u` with capacity `rc`.
    mutating func addEdge(_ u: Int, _ v: Int, _ c: Double, _ rc: Double = 0) {
        to.append(Int32(v)); cap.append(c); nextEdge.append(head[u]); head[u] = Int32(to.count - 1)
        to.append(Int32(u)); cap.append(rc); nextEdge.append(head[v]); head[v] = Int32(to.count - 1)
    }

    /// Unary costs: `costFG` is paid when `i` ends on the source side, `costBG` on the sink side.
    mutating func addTerminal(_ i: Int, costFG: Double, costBG: Double) {
        // Source edge (cut when i is background) carries costBG, sink edge carries costFG; only the
        // difference matters.
        terminal[i] += costBG - costFG
    }

    /// Computes the maximum flow (up to the constant removed from the terminal links).
    @discardableResult
    mutating func run() -> Double {
        let n = nodeCount
        var flow = 0.0
        var parent = [Int32](repeating: MaxFlow.noParent, count: n)
        // Nodes known to be rooted since the last augmentation carry its number (Boykov–Kolmogorov's
        // time stamps), so checking a candidate parent stops where an earlier check did.
        var stamp = [Int32](repeating: 0, count: n)
        var time: Int32 = 0
        var active = [Int32]()
        var isActive = [Bool](repeating: false, count: n)
        var orphans = [Int32]()
        active.reserveCapacity(n)
        head.withUnsafeBufferPointer { head in
        nextEdge.withUnsafeBufferPointer { next in
        to.withUnsafeBufferPointer { to in
        cap.withUnsafeMutableBufferPointer { cap in
        terminal.withUnsafeMutableBufferPointer { tr in
        tree.withUnsafeMutableBufferPointer { tree in
        parent.withUnsafeMutableBufferPointer { parent in
        isActive.withUnsafeMutableBufferPointer { isActive in
        stamp.withUnsafeMutableBufferPointer { stamp in
            for i in 0..<n where tr[i] != 0 {
                tree[i] = tr[i] > 0 ? 1 : 2
                parent[i] = MaxFlow.terminalParent
                active.append(Int32(i)); isActive[i] = true
            }
            var qHead = 0
            /// True when following parents from `i` ends at a terminal; marks the path when it does.
            func rooted(_ i: Int) -> Bool {
                var u = i
                while stamp[u] != time {
                    let p = parent[u]
                    if p == MaxFlow.terminalParent { break }
                    if p < 0 { return false }
                    u = Int(to[Int(p)])
                }
                var v = i
                while v != u { stamp[v] = time; v = Int(to[Int(parent[v])]) }
                stamp[u] = time
                return true
            }
            while true {
                // Growth: find an edge linking the two trees.
                var bridge = -1  // edge from a source-tree node to a sink-tree node
                while qHead < active.count {
                    let p = Int(active[qHead])
                    if tree[p] == 0 { qHead += 1; isActive[p] = false; continue }
                    var e = Int(head[p])
                    while e >= 0 {
                        let q = Int(to[e])
                        let residual = tree[p] == 1 ? cap[e] : cap[e ^ 1]
                        if residual > 1e-12 {
                            if tree[q] == 0 {
                                tree[q] = tree[p]
                                parent[q] = Int32(e ^ 1)  // edge from q to its parent p
                                if !isActive[q] { active.append(Int32(q)); isActive[q] = true }
                            } else if tree[q] != tree[p] {
                                bridge = tree[p] == 1 ? e : e ^ 1
                                break
                            }
                        }
                        e = Int(next[e])
                    }
                    if bridge >= 0 { break }
                    qHead += 1
                    isActive[p] = false
                }
                if bridge < 0 { break }
                // Augment along source root … s → t … sink root.
                let s = Int(to[bridge ^ 1]), t = Int(to[bridge])
                var bottleneck = cap[bridge]
                var u = s
                while parent[u] != MaxFlow.terminalParent {
                    let pe = Int(parent[u])  // u → parent; flow runs parent → u on pe ^ 1
                    bottleneck = min(bottleneck, cap[pe ^ 1])
                    u = Int(to[pe])
                }
                bottleneck = min(bottleneck, tr[u])
                u = t
                while parent[u] != MaxFlow.terminalParent {
                    let pe = Int(parent[u])  // flow runs u → parent on pe
                    bottleneck = min(bottleneck, cap[pe])
                    u = Int(to[pe])
                }
                bottleneck = min(bottleneck, -tr[u])
                cap[bridge] -= bottleneck
                cap[bridge ^ 1] += bottleneck
                u = s
                while parent[u] != MaxFlow.terminalParent {
                    let pe = Int(parent[u])
                    cap[pe ^ 1] -= bottleneck
                    cap[pe] += bottleneck
                    let up = Int(to[pe])
                    if cap[pe ^ 1] <= 1e-12 { parent[u] = MaxFlow.orphanParent; orphans.append(Int32(u)) }
                    u = up
                }
                tr[u] -= bottleneck
                if tr[u] <= 1e-12 { parent[u] = MaxFlow.orphanParent; orphans.append(Int32(u)) }
                u = t
                while parent[u] != MaxFlow.terminalParent {
                    let pe = Int(parent[u])
                    cap[pe] -= bottleneck
                    cap[pe ^ 1] += bottleneck
                    let up = Int(to[pe])
                    if cap[pe] <= 1e-12 { parent[u] = MaxFlow.orphanParent; orphans.append(Int32(u)) }
                    u = up
                }
                tr[u] += bottleneck
                if tr[u] >= -1e-12 { parent[u] = MaxFlow.orphanParent; orphans.append(Int32(u)) }
                flow += bottleneck
                time += 1
                // Adoption.
                while let o32 = orphans.popLast() {
                    let o = Int(o32)
                    let side = tree[o]
                    // A terminal link may still be usable.
                    if side == 1 && tr[o] > 1e-12 || side == 2 && tr[o] < -1e-12 {
                        parent[o] = MaxFlow.terminalParent
                        continue
                    }
                    var found = false
                    var e = Int(head[o])
                    while e >= 0 {
                        let q = Int(to[e])
                        // Residual from the new parent q towards o (source tree) or from o to q (sink tree).
                        let residual = side == 1 ? cap[e ^ 1] : cap[e]
                        if tree[q] == side && residual > 1e-12 && rooted(q) {
                            parent[o] = Int32(e)
                            found = true
                            break
                        }
                        e = Int(next[e])
                    }
                    if found { continue }
                    e = Int(head[o])
                    while e >= 0 {
                        let q = Int(to[e])
                        if tree[q] == side {
                            let residual = side == 1 ? cap[e ^ 1] : cap[e]
                            if residual > 1e-12 && !isActive[q] { active.append(Int32(q)); isActive[q] = true }
                            if parent[q] == Int32(e ^ 1) { parent[q] = MaxFlow.orphanParent; orphans.append(Int32(q)) }
                        }
                        e = Int(next[e])
                    }
                    tree[o] = 0
                    parent[o] = MaxFlow.noParent
                }
                if qHead > 4096 && qHead * 2 > active.count {
                    active.removeFirst(qHead)
                    qHead = 0
                }
            }
        }}}}}}}}}
        return flow
    }

    /// True when node `i` is on the source (foreground) side of the minimum cut.
    func sourceSide(_ i: Int) -> Bool { tree[i] == 1 }
}
