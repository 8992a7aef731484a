import Foundation
@testable import RotoVision
import Testing

@Suite struct TrackerFlowTests {
    /// A smooth texture shifted by (dx, dy): the dense flow recovers the shift away from the border.
    @Test(arguments: [(4.0, 0.0), (-6.0, 3.0), (12.0, -7.0)])
    func recoversGlobalShift(_ shift: (Double, Double)) {
        let w = 160, h = 96
        func texture(_ x: Double, _ y: Double) -> Double {
            let a: Double = 50 * sin(x * 0.21 + 0.3 * cos(y * 0.13))
            let b: Double = 40 * cos(y * 0.17 + 0.5 * sin(x * 0.07))
            return 128 + a + b
        }
        func image(_ ox: Double, _ oy: Double) -> RGBImage {
            var px = [UInt8](repeating: 0, count: w * h * 3)
            for y in 0..<h {
                for x in 0..<w {
                    let v = UInt8(clamping: Int(texture(Double(x) - ox, Double(y) - oy).rounded()))
                    px[3 * (y * w + x)] = v; px[3 * (y * w + x) + 1] = v; px[3 * (y * w + x) + 2] = v
                }
            }
            return RGBImage(width: w, height: h, pixels: px)
        }
        // reference(x) = target(x + d) with target shifted by +d.
        let ref = FlowPyramid(image(0, 0)), tgt = FlowPyramid(image(shift.0, shift.1))
        let f = DenseFlow().compute(from: ref, to: tgt)
        var eu = 0.0, ev = 0.0, cnt = 0.0
        for y in 20..<(h - 20) {
            for x in 20..<(w - 20) {
                eu += abs(Double(f.u[y * w + x]) - shift.0); ev += abs(Double(f.v[y * w + x]) - shift.1); cnt += 1
            }
        }
        #expect(eu / cnt < 0.3 && ev / cnt < 0.3, "mean error u \(eu / cnt) v \(ev / cnt)")
    }
}

extension TrackerFlowTests {
    /// Prints where `propagate` spends its time at 480×270 (run in release for meaningful figures).
    @Test func timingBreakdown480x270() {
        let w = 480, h = 270
        func image(_ ox: Int) -> RGBImage {
            var px = [UInt8](repeating: 0, count: w * h * 3)
            for y in 0..<h {
                for x in 0..<w {
                    let inside = (x - 150 - ox) * (x - 150 - ox) + (y - 135) * (y - 135) < 2500
                    let v = UInt8(truncatingIfNeeded: (x &* 7919 ^ y &* 104729) % 97 + (inside ? 120 : 20))
                    px[3 * (y * w + x)] = v; px[3 * (y * w + x) + 1] = inside ? 40 : v; px[3 * (y * w + x) + 2] = v
                }
            }
            return RGBImage(width: w, height: h, pixels: px)
        }
        let a = image(0), b = image(4)
        var lab = [UInt8](repeating: 0, count: w * h)
        for y in 0..<h { for x in 0..<w where (x - 150) * (x - 150) + (y - 135) * (y - 135) < 2500 { lab[y * w + x] = 1 } }
        let clock = ContinuousClock()
        let tracker = MaskTracker()
        var pa = FlowPyramid(a), pb = FlowPyramid(b)
        let tPyr = clock.measure { for _ in 0..<5 { pa = FlowPyramid(a); pb = FlowPyramid(b) } }
        var flow = FlowField(width: 0, height: 0)
        let tFlow = clock.measure { for _ in 0..<5 { flow = tracker.flowEngine.compute(from: pb, to: pa) } }
        let tRefine = clock.measure {
            for _ in 0..<5 { _ = tracker.refineObject(tag: 1, previous: a, labels: lab, next: b, flow: flow) }
        }
        print("breakdown ms: 2 pyramids \(tPyr / 5), flow \(tFlow / 5), refine \(tRefine / 5)")
    }
}
