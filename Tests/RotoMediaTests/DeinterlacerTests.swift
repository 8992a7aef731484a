import CFFmpeg
@testable import RotoMedia
import Testing

@Suite("Deinterlacer")
struct DeinterlacerTests {
    /// A field-coded yuv420p frame of a bright area whose right edge moves 8 px a field: bright left of
    /// `edge` on the top field's rows and of `edge + 8` on the bottom field's (combing), dark beyond,
    /// chroma neutral.
    static func combed(width: Int, height: Int, edge: Int, pts: Int64) throws -> Frame {
        let frame = try Frame()
        try frame.allocate(width: width, height: height, format: AV_PIX_FMT_YUV420P)
        let f = frame.pointer.pointee
        for plane in 0..<3 {
            let w = plane == 0 ? width : width / 2, h = plane == 0 ? height : height / 2
            let base = planePointer(f, plane)!, stride = Int(lineSize(f, plane))
            for y in 0..<h {
                let row = base + y * stride
                if plane > 0 { row.update(repeating: 128, count: w); continue }
                let bright = min(w, y % 2 == 0 ? edge : edge + 8)
                row.update(repeating: 200, count: bright)
                (row + bright).update(repeating: 40, count: w - bright)
            }
        }
        frame.pointer.pointee.pts = pts
        frame.pointer.pointee.interlaced_frame = 1
        frame.pointer.pointee.top_field_first = 1
        return frame
    }

    /// Mean absolute difference between neighbouring luma rows: 8 × 160 / width for the frames above,
    /// 0 for a picture of one moment.
    static func combing(_ frame: UnsafeMutablePointer<AVFrame>) -> Double {
        let f = frame.pointee, base = planePointer(f, 0)!, stride = Int(lineSize(f, 0))
        var total = 0
        for y in 1..<Int(f.height) {
            for x in 0..<Int(f.width) { total += abs(Int(base[y * stride + x]) - Int(base[(y - 1) * stride + x])) }
        }
        return Double(total) / Double((Int(f.height) - 1) * Int(f.width))
    }

    @Test("one frame out per frame in, in order, with its timestamp, across a change of size")
    func framesAndTimes() throws {
        let deinterlacer = Deinterlacer(timeBase: AVRational(num: 1, den: 15360))
        let sizes = [(64, 48), (64, 48), (64, 48), (96, 64), (96, 64)]
        let out = try Frame()
        var pulled: [(width: Int32, height: Int32, pts: Int64, combing: Double)] = []
        func drain() throws {
            while try deinterlacer.pull(into: out.pointer) {
                let f = out.pointer.pointee
                pulled.append((f.width, f.height, f.pts, Self.combing(out.pointer)))
            }
        }
        for (i, (w, h)) in sizes.enumerated() {
            let frame = try Self.combed(width: w, height: h, edge: 16 + 16 * i, pts: Int64(i) * 512)
            #expect(Self.combing(frame.pointer) == 8 * 160 / Double(w))
            try deinterlacer.push(frame.pointer)
            try drain()
        }
        try deinterlacer.flush()
        try drain()
        #expect(pulled.map(\.width) == sizes.map { Int32($0.0) })
        #expect(pulled.map(\.height) == sizes.map { Int32($0.1) })
        #expect(pulled.map(\.pts) == (0..<5).map { Int64($0) * 512 })
        // Each picture is rebuilt from its first (top) field: the row-to-row combing is gone.
        for p in pulled {
            #expect(p.combing < 0.2 * 8 * 160 / Double(p.width), "combing \(p.combing) in a \(p.width)x\(p.height) frame")
        }
    }

    @Test("a progressive frame passes unchanged")
    func progressivePassesThrough() throws {
        let deinterlacer = Deinterlacer(timeBase: AVRational(num: 1, den: 30))
        let frame = try Self.combed(width: 64, height: 48, edge: 16, pts: 7)
        frame.pointer.pointee.interlaced_frame = 0
        try deinterlacer.push(frame.pointer)
        try deinterlacer.flush()
        let out = try Frame()
        #expect(try deinterlacer.pull(into: out.pointer))
        #expect(out.pointer.pointee.pts == 7 && Self.combing(out.pointer) == 20)
        #expect(try !deinterlacer.pull(into: out.pointer))
    }
}
