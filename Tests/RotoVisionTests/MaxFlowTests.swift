@testable import RotoVision
import Testing

@Suite struct MaxFlowTests {
    /// A random graph: `n` nodes, each with a terminal cost difference, and edges between random pairs.
    static func randomGraph(_ n: Int, edges m: Int, using rng: inout some RandomNumberGenerator)
        -> (terminals: [Double], edges: [MaxFlow.Edge]) {
        let terminals = (0..<n).map { _ in Double(Int.random(in: -6...6, using: &rng)) + 0.25 }
        let edges = (0..<m).compactMap { _ -> MaxFlow.Edge? in
            let u = Int.random(in: 0..<n, using: &rng), v = Int.random(in: 0..<n, using: &rng)
            if u == v { return nil }
            return MaxFlow.Edge(u: Int32(u), v: Int32(v), capacity: Double(Int.random(in: 0...5, using: &rng)),
                                reverseCapacity: Double(Int.random(in: 0...5, using: &rng)))
        }
        return (terminals, edges)
    }

    /// The cost of a labelling (true: source side, foreground): a node's terminal link `costBG − costFG`
    /// is paid when it ends background if positive, its opposite when it ends foreground if negative; an
    /// edge u → v is paid when u is foreground and v is not.
    static func cutCost(_ side: [Bool], _ g: (terminals: [Double], edges: [MaxFlow.Edge])) -> Double {
        var cost = 0.0
        for (i, t) in g.terminals.enumerated() {
            if t > 0 && !side[i] { cost += t }
            if t < 0 && side[i] { cost -= t }
        }
        for e in g.edges {
            if side[Int(e.u)] && !side[Int(e.v)] { cost += e.capacity }
            if side[Int(e.v)] && !side[Int(e.u)] { cost += e.reverseCapacity }
        }
        return cost
    }

    @Test("the cut is a minimum cut (every labelling of small graphs tried), and both ways of building give it")
    func minimumCut() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let n = Int.random(in: 1...10, using: &rng)
            let g = Self.randomGraph(n, edges: Int.random(in: 0...(3 * n), using: &rng), using: &rng)
            var atOnce = MaxFlow(terminals: g.terminals, edges: g.edges)
            let flow = atOnce.run()
            var oneByOne = MaxFlow(nodes: n, edges: g.edges.count)
            for (i, t) in g.terminals.enumerated() { oneByOne.addTerminal(i, costFG: 0, costBG: t) }
            for e in g.edges { oneByOne.addEdge(Int(e.u), Int(e.v), e.capacity, e.reverseCapacity) }
            #expect(oneByOne.run() == flow)
            let side = (0..<n).map { atOnce.sourceSide($0) }
            #expect(side == (0..<n).map { oneByOne.sourceSide($0) })
            var best = Double.infinity
            for labels in 0..<(1 << n) {
                best = min(best, Self.cutCost((0..<n).map { labels >> $0 & 1 == 1 }, g))
            }
            #expect(abs(Self.cutCost(side, g) - best) < 1e-9)
            #expect(abs(flow - best) < 1e-9)  // max-flow = min-cut
        }
    }
}
