/// 32-bit unsigned integers in big-endian byte order, as the PNG codec and ``LabelTrack`` write them.
enum BigEndian {
    /// The integer at `p` in `b`.
    static func read32(_ b: [UInt8], _ p: Int) -> UInt32 {
        UInt32(b[p]) << 24 | UInt32(b[p + 1]) << 16 | UInt32(b[p + 2]) << 8 | UInt32(b[p + 3])
    }

    /// Appends `v` to `out`.
    static func append32(_ out: inout [UInt8], _ v: UInt32) {
        out += [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
    }

    /// Overwrites the four bytes at `p` in `out` with `v`.
    static func set32(_ out: inout [UInt8], at p: Int, _ v: UInt32) {
        out[p] = UInt8(v >> 24)
        out[p + 1] = UInt8((v >> 16) & 0xFF)
        out[p + 2] = UInt8((v >> 8) & 0xFF)
        out[p + 3] = UInt8(v & 0xFF)
    }
}
