import Foundation
@testable import RotoMedia
import RotoThreads
import Testing

@Suite("InputFile.read")
struct PacketReadTests {
    /// A read that the deadline's flag interrupts is reported as what stopped it, not as corrupt input:
    /// the flag is raised after the file is opened, so every read that has to go to the file fails.
    @Test("an interrupted read throws the deadline's error")
    func interruptedReadIsCancelled() throws {
        let dir = try Scratch()
        let path = dir.file("a.mp4")
        try Clips.make(path, size: "1280x720", rate: "30", seconds: 2)
        let flag = CancellationFlag()
        let input = try InputFile(path: path, format: "mov", deadline: Deadline(seconds: 60, cancellation: flag),
                                  failureCode: .corrupt)
        let packet = try Packet()
        #expect(try input.read(into: packet, activity: "reading", what: "input"))
        packet.unref()
        flag.raise()
        var packets = 0
        let error = #expect(throws: MediaError.self) {
            while try input.read(into: packet, activity: "reading", what: "input") {
                packet.unref()
                packets += 1
            }
        }
        #expect(error?.code == .cancelled, "\(String(describing: error)) after \(packets) buffered packets")
    }

    @Test("a whole file reads to its end")
    func readsToTheEnd() throws {
        let dir = try Scratch()
        let path = dir.file("a.mp4")
        try Clips.make(path, size: "320x240", rate: "30", seconds: 1)
        let input = try InputFile(path: path, format: "mov", deadline: Deadline(seconds: 60), failureCode: .corrupt)
        let packet = try Packet()
        var packets = 0
        while try input.read(into: packet, activity: "reading", what: "input") {
            packets += 1
            packet.unref()
        }
        #expect(packets == 30)  // one video stream, no audio
    }
}
