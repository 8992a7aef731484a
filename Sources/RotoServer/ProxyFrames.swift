import RotoMedia
import RotoVision
import Synchronization

/// The working-size frames of a session's proxy as a collection that decodes on access: the proxy is
/// all-intra, so any frame decodes alone, and tracking reads the clip a few frames at a time, so only a
/// small cache of frames is held, whatever the clip's length (a 10 s 2160×2160 60 fps clip would
/// otherwise hold 600 working frames, ~740 MB). Safe to read from several threads (decoding is
/// serialised). A frame that fails to decode reads as black and the failure is kept in ``failure``.
struct ProxyFrames: RandomAccessCollection, Sendable {
    let source: Source

    /// Opens `path` (the proxy) for frames of `size`, keeping the last `capacity` frames read: the two
    /// walks between two anchors, on two threads, each read a chunk of frames ahead of the one they
    /// refine (with 24, each walk's frames pushed the other's out, to be decoded again).
    init(path: String, size: (width: Int, height: Int), capacity: Int = 48) throws {
        source = Source(reader: try FrameReader(path: path), size: size, capacity: capacity)
    }

    var startIndex: Int { 0 }
    var endIndex: Int { source.count }
    subscript(index: Int) -> RGBImage { source.frame(index) }

    /// The first decoding failure, if any.
    var failure: MediaError? { source.failure }

    final class Source: Sendable {
        let count: Int
        let size: (width: Int, height: Int)
        private let capacity: Int
        private let state: Mutex<State>

        struct State {
            var reader: FrameReader
            var cache: [Int: RGBImage] = [:]
            var order: [Int] = []
            var failure: MediaError?
        }

        init(reader: sending FrameReader, size: (width: Int, height: Int), capacity: Int) {
            count = reader.frameCount
            self.size = size
            self.capacity = Swift.max(1, capacity)
            state = Mutex(State(reader: reader))
        }

        var failure: MediaError? { state.withLock { $0.failure } }

        func frame(_ index: Int) -> RGBImage {
            let size = size, capacity = capacity
            return state.withLock { s in
                if let hit = s.cache[index] { return hit }
                let image: RGBImage
                do throws(MediaError) {
                    let f = try s.reader.frame(at: index, scaledTo: size)
                    image = RGBImage(width: f.width, height: f.height, pixels: f.pixels)
                } catch {
                    if s.failure == nil { s.failure = error }
                    image = RGBImage(width: size.width, height: size.height)
                }
                s.cache[index] = image
                s.order.append(index)
                if s.order.count > capacity { s.cache[s.order.removeFirst()] = nil }
                return image
            }
        }
    }
}
