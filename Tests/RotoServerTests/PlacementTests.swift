import RotoAPI
@testable import RotoServer
import RotoVision
import Testing

@Suite("Edit placements")
struct PlacementTests {
    static let square = Cutout(opaque: RGBImage(width: 200, height: 200, pixels: [UInt8](repeating: 128, count: 200 * 200 * 3)))

    @Test("a cutout keeps its shape as shown in a video whose pixels are not square", arguments: [1.0, 4.0 / 3.0, 0.75])
    func sampleAspect(sar: Double) throws {
        // Addition without a selection: the default place.
        let placed = EditPipeline.placements(mode: .addition, cutouts: [Self.square], tracked: [], objectIDs: [],
                                             width: 1280, height: 720, frameCount: 3, sampleAspect: sar)
        let box = try #require(placed.first?.1.first ?? nil)
        // Shown width (stored width × the pixels' width) equals the height: a square shows square.
        #expect(abs(box.width * sar - box.height) < 1, "\(box)")
        #expect(abs(box.height - 240) < 1e-9)

        // Swap on a tracked 100 × 50 working-size object (full size: 200 × 100 at 2×).
        var labels = [UInt8](repeating: 0, count: 640 * 360)
        for y in 100..<150 { for x in 100..<200 { labels[y * 640 + x] = 1 } }
        let tracked = [SelectionLabels(width: 640, height: 360, labels: labels, objectIDs: [7])]
        let swapped = EditPipeline.placements(mode: .swap, cutouts: [Self.square], tracked: tracked, objectIDs: [7],
                                              width: 1280, height: 720, frameCount: 1, sampleAspect: sar)
        let fitted = try #require(swapped.first?.1.first ?? nil)
        #expect(abs(fitted.width * sar - fitted.height) < 1, "\(fitted)")
        #expect(fitted.width <= 200 + 1e-9 && fitted.height <= 100 + 1e-9)
    }
}
