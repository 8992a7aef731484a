/// Boykov–Kolmogorov max-flow / min-cut (search trees from both terminals, reused between
/// augmentations) for the small, sparse graphs of superpixels.
///
/// Terminal links are stored as one residual value per node (positive: residual from the source,
/// negative: residual to the sink). After `run()`, `sourceSide(i)` tells whether node `i` is on the
/// source (foreground) side of the minimum cut.
struct MaxFlow {
    let nodeCount: Int
    private var head: [Int32]
    /// Half-edges: an edge and its reverse are neighbours (`e ^ 1`). One array of records, so an edge's
    /// target, link and residual are read together and `addEdge` appends twice instead of six times.
    private var arcs: [Arc] = []
    private var terminal: [Double]
    private var tree: [UInt8]  // 0 free, 1 source tree, 2 sink tree

    private struct Arc {
        var to: Int32
        var next: Int32
        var cap: Double
    }

    private static let noParent: Int32 = -1
    private static let terminalParent: Int32 = -2
    private static let orphanParent: Int32 = -3

    /// A graph with `n` nodes (0..<n) plus the two terminals, with room for `edges` `addEdge` calls.
    init(nodes n: Int, edges: Int = 0) {
        nodeCount = n
        head = [Int32](repeating: -1, count: n)
        terminal = [Double](repeating: 0, count: n)
        tree = [UInt8](repeating: 0, count: n)
        arcs.reserveCapacity(2 * edges)
    }

    /// An edge `u → v` with `capacity` and `v → u` with `reverseCapacity`, for building a graph at once.
    struct Edge {
        var u: Int32
        var v: Int32
        var capacity: Double
        var reverseCapacity: Double
    }

    /// The graph of `terminals.count` nodes with these terminal links (each node's `costBG − costFG`,
    /// as `addTerminal` sums them) and edges: the same graph as `addTerminal` and `addEdge` calls in
    /// this order build, without their per-call bookkeeping (the band graphs of tracking have ~10⁵ edges).
    init(terminals: [Double], edges: [Edge]) {
        let n = terminals.count
        nodeCount = n
        terminal = terminals
        tree = [UInt8](repeating: 0, count: n)
        var head = [Int32](repeating: -1, count: n)
        arcs = head.withUnsafeMutableBufferPointer { head in
            edges.withUnsafeBufferPointer { edges in
                [Arc](unsafeUninitializedCapacity: 2 * edges.count) { arcs, initialized in
                    let a = arcs.baseAddress!
                    for k in 0..<edges.count {
                        let e = edges[k]
                        let (forward, backward) = Self.halfEdges(Int(e.u), Int(e.v), e.capacity, e.reverseCapacity,
                                                                 numbered: Int32(2 * k), head: head)
                        (a + 2 * k).initialize(to: forward)
                        (a + 2 * k + 1).initialize(to: backward)
                    }
                    initialized = 2 * edges.count
                }
            }
        }
        self.head = head
    }

    /// Adds `u → v` with capacity `c` and `v → u` with capacity `rc`.
    @inline(__always)
    mutating func addEdge(_ u: Int, _ v: Int, _ c: Double, _ rc: Double = 0) {
        let (forward, backward) = head.withUnsafeMutableBufferPointer { head in
            Self.halfEdges(u, v, c, rc, numbered: Int32(arcs.count), head: head)
        }
        arcs.append(forward)
        arcs.append(backward)
    }

    /// The half-edges u → v (capacity `c`) and v → u (`rc`), numbered `e` and `e + 1`, each put in front
    /// of its node's list in `head`.
    @inline(__always)
    private static func halfEdges(_ u: Int, _ v: Int, _ c: Double, _ rc: Double, numbered e: Int32,
                                  head: UnsafeMutableBufferPointer<Int32>) -> (Arc, Arc) {
        let forward = Arc(to: Int32(v), next: head[u], cap: c)
        head[u] = e
        let backward = Arc(to: Int32(u), next: head[v], cap: rc)
        head[v] = e + 1
        return (forward, backward)
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
        arcs.withUnsafeMutableBufferPointer { arcs in
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
                    u = Int(arcs[Int(p)].to)
                }
                var v = i
                while v != u { stamp[v] = time; v = Int(arcs[Int(parent[v])].to) }
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
                        let q = Int(arcs[e].to)
                        let residual = tree[p] == 1 ? arcs[e].cap : arcs[e ^ 1].cap
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
                        e = Int(arcs[e].next)
                    }
                    if bridge >= 0 { break }
                    qHead += 1
                    isActive[p] = false
                }
                if bridge < 0 { break }
                // Augment along source root … s → t … sink root.
                let s = Int(arcs[bridge ^ 1].to), t = Int(arcs[bridge].to)
                var bottleneck = arcs[bridge].cap
                var u = s
                while parent[u] != MaxFlow.terminalParent {
                    let pe = Int(parent[u])  // u → parent; flow runs parent → u on pe ^ 1
                    bottleneck = min(bottleneck, arcs[pe ^ 1].cap)
                    u = Int(arcs[pe].to)
                }
                bottleneck = min(bottleneck, tr[u])
                u = t
                while parent[u] != MaxFlow.terminalParent {
                    let pe = Int(parent[u])  // flow runs u → parent on pe
                    bottleneck = min(bottleneck, arcs[pe].cap)
                    u = Int(arcs[pe].to)
                }
                bottleneck = min(bottleneck, -tr[u])
                arcs[bridge].cap -= bottleneck
                arcs[bridge ^ 1].cap += bottleneck
                u = s
                while parent[u] != MaxFlow.terminalParent {
                    let pe = Int(parent[u])
                    arcs[pe ^ 1].cap -= bottleneck
                    arcs[pe].cap += bottleneck
                    let up = Int(arcs[pe].to)
                    if arcs[pe ^ 1].cap <= 1e-12 { parent[u] = MaxFlow.orphanParent; orphans.append(Int32(u)) }
                    u = up
                }
                tr[u] -= bottleneck
                if tr[u] <= 1e-12 { parent[u] = MaxFlow.orphanParent; orphans.append(Int32(u)) }
                u = t
                while parent[u] != MaxFlow.terminalParent {
                    let pe = Int(parent[u])
                    arcs[pe].cap -= bottleneck
                    arcs[pe ^ 1].cap += bottleneck
                    let up = Int(arcs[pe].to)
                    if arcs[pe].cap <= 1e-12 { parent[u] = MaxFlow.orphanParent; orphans.append(Int32(u)) }
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
                        let q = Int(arcs[e].to)
                        // Residual from the new parent q towards o (source tree) or from o to q (sink tree).
                        let residual = side == 1 ? arcs[e ^ 1].cap : arcs[e].cap
                        if tree[q] == side && residual > 1e-12 && rooted(q) {
                            parent[o] = Int32(e)
                            found = true
                            break
                        }
                        e = Int(arcs[e].next)
                    }
                    if found { continue }
                    e = Int(head[o])
                    while e >= 0 {
                        let q = Int(arcs[e].to)
                        if tree[q] == side {
                            let residual = side == 1 ? arcs[e ^ 1].cap : arcs[e].cap
                            if residual > 1e-12 && !isActive[q] { active.append(Int32(q)); isActive[q] = true }
                            if parent[q] == Int32(e ^ 1) { parent[q] = MaxFlow.orphanParent; orphans.append(Int32(q)) }
                        }
                        e = Int(arcs[e].next)
                    }
                    tree[o] = 0
                    parent[o] = MaxFlow.noParent
                }
                if qHead > 4096 && qHead * 2 > active.count {
                    active.removeFirst(qHead)
                    qHead = 0
                }
            }
        }}}}}}}
        return flow
    }

    /// True when node `i` is on the source (foreground) side of the minimum cut.
    func sourceSide(_ i: Int) -> Bool { tree[i] == 1 }
}
