/// Dinic max-flow / min-cut on a small general graph (superpixel graphs: a few thousand nodes).
///
/// Node `source` is labelled foreground. After `run()`, `sourceSide(i)` tells whether node `i` stays
/// on the source side of the minimum cut.
final class MaxFlow {
    let nodeCount: Int
    let source: Int
    let sink: Int
    private var head: [Int32]
    private var nextEdge: [Int32] = []
    private var to: [Int32] = []
    private var cap: [Double] = []
    private var level: [Int32]
    private var iter: [Int32]
    private var reach: [Bool]

    /// A graph with `n` ordinary nodes (0..<n) plus a source and a sink.
    init(nodes n: Int) {
        nodeCount = n + 2
        source = n
        sink = n + 1
        head = [Int32](repeating: -1, count: n + 2)
        level = [Int32](repeating: -1, count: n + 2)
        iter = [Int32](repeating: -1, count: n + 2)
        reach = [Bool](repeating: false, count: n + 2)
    }

    /// Adds `u → v` with capacity `c` and `v → u` with capacity `rc`.
    func addEdge(_ u: Int, _ v: Int, _ c: Double, _ rc: Double = 0) {
        to.append(Int32(v)); cap.append(c); nextEdge.append(head[u]); head[u] = Int32(to.count - 1)
        to.append(Int32(u)); cap.append(rc); nextEdge.append(head[v]); head[v] = Int32(to.count - 1)
    }

    /// Unary costs: `costFG` is paid when `i` ends on the source side, `costBG` on the sink side.
    func addTerminal(_ i: Int, costFG: Double, costBG: Double) {
        // Only the difference matters; keep capacities non-negative.
        let m = min(costFG, costBG)
        let f = costFG - m, b = costBG - m
        if b > 0 { addEdge(source, i, b) }
        if f > 0 { addEdge(i, sink, f) }
    }

    private func bfs() -> Bool {
        for i in 0..<nodeCount { level[i] = -1 }
        var queue = [Int32](repeating: 0, count: nodeCount)
        var qh = 0, qt = 1
        queue[0] = Int32(source)
        level[source] = 0
        while qh < qt {
            let u = Int(queue[qh]); qh += 1
            var e = head[u]
            while e >= 0 {
                let v = Int(to[Int(e)])
                if cap[Int(e)] > 1e-9 && level[v] < 0 {
                    level[v] = level[u] + 1
                    queue[qt] = Int32(v); qt += 1
                }
                e = nextEdge[Int(e)]
            }
        }
        return level[sink] >= 0
    }

    private func dfs(_ u: Int, _ f: Double) -> Double {
        if u == sink { return f }
        while iter[u] >= 0 {
            let e = Int(iter[u])
            let v = Int(to[e])
            if cap[e] > 1e-9 && level[v] == level[u] + 1 {
                let d = dfs(v, min(f, cap[e]))
                if d > 0 {
                    cap[e] -= d
                    cap[e ^ 1] += d
                    return d
                }
            }
            iter[u] = nextEdge[e]
        }
        return 0
    }

    /// Computes the maximum flow; returns its value.
    @discardableResult
    func run() -> Double {
        var flow = 0.0
        while bfs() {
            for i in 0..<nodeCount { iter[i] = head[i] }
            while true {
                let f = dfs(source, .infinity)
                if f <= 0 { break }
                flow += f
            }
        }
        // Residual reachability from the source.
        for i in 0..<nodeCount { reach[i] = false }
        var stack = [source]
        reach[source] = true
        while let u = stack.popLast() {
            var e = head[u]
            while e >= 0 {
                let v = Int(to[Int(e)])
                if cap[Int(e)] > 1e-9 && !reach[v] { reach[v] = true; stack.append(v) }
                e = nextEdge[Int(e)]
            }
        }
        return flow
    }

    /// True when node `i` is on the source (foreground) side of the minimum cut.
    func sourceSide(_ i: Int) -> Bool { reach[i] }
}
