/// The independent-motion cue shared by the click engine and the tracker: the camera's motion as an
/// affine field, and how far a motion's distance from it (its residual) says "moves against the
/// camera like the object" (+1) or "still against the camera" (−1).
struct IndependentMotion {
    /// Coefficients (c0, c1, c2) of u and of v over normalised coordinates (−1…1 across the image),
    /// kept as plain vectors: `evidence(x:y:u:v:)` reads them for every band pixel the tracker refines.
    let cameraU: SIMD3<Double>, cameraV: SIMD3<Double>
    /// Residual from which a motion counts fully as the object's; half of it and below counts fully
    /// as the background's.
    let high: Float
    let scaleX: Float, scaleY: Float

    /// The camera's motion fitted to samples at pixel positions (`x`, `y`) in an image `width` ×
    /// `height` with motions (`u`, `v`) and `weights` (0: not background): weighted least squares,
    /// twice re-weighted with Huber weights at 1 px so other moving things count less. Returns the
    /// fit and every sample's residual; nil when the samples do not span a plane.
    static func fitCamera(x: [Float], y: [Float], u: [Float], v: [Float], weights: [Float],
                          width: Int, height: Int) -> (camera: [[Double]], residual: [Float])? {
        let sx = 2 / Float(max(1, width)), sy = 2 / Float(max(1, height))
        let nx = x.map { $0 * sx - 1 }, ny = y.map { $0 * sy - 1 }
        var w = weights, residual = [Float](repeating: 0, count: x.count), camera: [[Double]] = []
        for _ in 0..<3 {
            guard let c = fitPlanes(x: nx, y: ny, weights: w, values: [u, v]) else { return nil }
            camera = c
            for i in 0..<x.count {
                let du = u[i] - Float(c[0][0] + c[0][1] * Double(nx[i]) + c[0][2] * Double(ny[i]))
                let dv = v[i] - Float(c[1][0] + c[1][1] * Double(nx[i]) + c[1][2] * Double(ny[i]))
                residual[i] = (du * du + dv * dv).squareRoot()
                w[i] = weights[i] / max(1, residual[i])
            }
        }
        return (camera, residual)
    }

    /// The cue for a fitted `camera`, given the median residual of the `object` and of the
    /// `background`: nil unless the background follows the camera (median ≤ `maxNoise`) and the object
    /// clearly does not (median above 0.5 px and twice the background's). `high` is the smaller of the
    /// object's median and twice the noise floor max(0.5, 3 × the background's median), so a slow
    /// object's own pixels are never pushed out.
    init?(camera: [[Double]], object: Float, background: Float, maxNoise: Float, width: Int, height: Int) {
        guard background <= maxNoise, object > max(0.5, 2 * background) else { return nil }
        cameraU = SIMD3(camera[0][0], camera[0][1], camera[0][2])
        cameraV = SIMD3(camera[1][0], camera[1][1], camera[1][2])
        high = min(2 * max(0.5, 3 * background), object)
        scaleX = 2 / Float(max(1, width))
        scaleY = 2 / Float(max(1, height))
    }

    /// −1…1 for a residual `r`: linear from high / 2 (−1) to high (+1).
    @inline(__always) func evidence(_ r: Float) -> Float {
        min(1, max(-1, (r - 0.75 * high) / (0.25 * high)))
    }

    /// The evidence of motion (`u`, `v`) at pixel (`x`, `y`).
    @inline(__always) func evidence(x: Float, y: Float, u: Float, v: Float) -> Float {
        let fx = Double(x * scaleX - 1), fy = Double(y * scaleY - 1)
        let du = u - Float(cameraU.x + cameraU.y * fx + cameraU.z * fy)
        let dv = v - Float(cameraV.x + cameraV.y * fx + cameraV.z * fy)
        return evidence((du * du + dv * dv).squareRoot())
    }
}
