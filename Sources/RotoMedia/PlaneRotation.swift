/// Quarter-turn rotation of one 8-bit image plane (tiled, so that 4K planes stay cache-friendly).
enum PlaneRotation {
    private static let tile = 32

    /// Rotates the `width`×`height` plane at `src` clockwise by `degrees` (90, 180 or 270) into `dst`,
    /// whose size is `height`×`width` for 90/270 and `width`×`height` for 180.
    static func rotate(src: UnsafePointer<UInt8>, srcStride: Int, width: Int, height: Int,
                       dst: UnsafeMutablePointer<UInt8>, dstStride: Int, degrees: Int) {
        switch degrees {
        case 90, 270:
            // dst(x', y') = base(y')[x' · step]: for 90°, src(x: y', y: height - 1 - x'), read upwards from the
            // bottom row; for 270°, src(x: width - 1 - y', y: x'), read downwards. dst is height wide, width tall.
            let step = degrees == 90 ? -srcStride : srcStride
            @inline(__always) func base(_ y: Int) -> UnsafePointer<UInt8> {
                degrees == 90 ? src + (height - 1) * srcStride + y : src + (width - 1 - y)
            }
            var ty = 0
            while ty < width {
                let yEnd = min(ty + tile, width)
                var tx = 0
                while tx < height {
                    let xEnd = min(tx + tile, height)
                    for y in ty..<yEnd {
                        let row = dst + y * dstStride
                        let column = base(y)
                        for x in tx..<xEnd { row[x] = column[x * step] }
                    }
                    tx = xEnd
                }
                ty = yEnd
            }
        case 180:
            for y in 0..<height {
                let from = src + (height - 1 - y) * srcStride
                let row = dst + y * dstStride
                for x in 0..<width { row[x] = from[width - 1 - x] }
            }
        default:
            for y in 0..<height {
                (dst + y * dstStride).update(from: src + y * srcStride, count: width)
            }
        }
    }
}
