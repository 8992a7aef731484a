import Foundation
import RotoAPI
import RotoCore
import Testing

@Suite struct SelectionTests {
    let limits = Limits()

    @Test func addIsIdempotentAndLimited() throws {
        var s = Selection.empty
        s = try s.adding([Point(x: 0.5, y: 0.5)], frame: 3, object: 0, limits: limits)
        let again = try s.adding([Point(x: 0.5, y: 0.5 + 1e-9)], frame: 3, object: 0, limits: limits)
        #expect(again == s)
        let nine = (0..<9).map { Point(x: Double($0) / 10, y: 0.1) }
        s = try s.adding(nine, frame: 3, object: 0, limits: limits)
        #expect(s.objects(onFrame: 3)[0].points.count == 10)
        #expect(throws: RotoError.self) { try s.adding([Point(x: 0.99, y: 0.99)], frame: 3, object: 0, limits: limits) }
        // Another object on the same frame has its own budget.
        _ = try s.adding([Point(x: 0.99, y: 0.99)], frame: 3, object: 1, limits: limits)
    }

    @Test("the nearest other frame where an object is marked")
    func nearestMarkedFrame() throws {
        var s = Selection.empty
        for f in [10, 30] { s = try s.adding([Point(x: 0.5, y: 0.5)], frame: f, object: 1, limits: limits) }
        s = try s.adding([Point(x: 0.5, y: 0.5)], frame: 21, object: 2, limits: limits)
        #expect(s.nearestMarkedFrame(of: 1, to: 21) == 30)  // frame 21 holds only object 2
        #expect(s.nearestMarkedFrame(of: 1, to: 20) == 10)  // as near as 30: the earlier
        #expect(s.nearestMarkedFrame(of: 1, to: 10) == 30)  // never the frame itself
        #expect(s.nearestMarkedFrame(of: 2, to: 21) == nil)
        #expect(s.nearestMarkedFrame(of: 3, to: 0) == nil)
    }

    @Test func markedFrameLimit() throws {
        var s = Selection.empty
        for f in 0..<10 { s = try s.adding([Point(x: 0.5, y: 0.5)], frame: f * 5, object: 0, limits: limits) }
        #expect(s.markedFrames.count == 10)
        do {
            _ = try s.adding([Point(x: 0.5, y: 0.5)], frame: 99, object: 0, limits: limits)
            Issue.record("11th frame accepted")
        } catch {
            #expect(error.message.contains("frame_index"))
        }
        // A frame already marked still takes points.
        _ = try s.adding([Point(x: 0.1, y: 0.5)], frame: 0, object: 0, limits: limits)
    }

    @Test func deleteIsExactAndAtomic() throws {
        var s = try Selection.empty.adding([Point(x: 0.2, y: 0.2), Point(x: 0.4, y: 0.4)], frame: 1, object: 0, limits: limits)
        do {
            _ = try s.deleting([Point(x: 0.2, y: 0.2), Point(x: 0.9, y: 0.9)], frame: 1, object: 0)
            Issue.record("partial delete accepted")
        } catch {
            #expect(error.message.contains("(0.9, 0.9)"))
            #expect(!error.message.contains("(0.2, 0.2)"))
        }
        s = try s.deleting([Point(x: 0.2 + 5e-7, y: 0.2)], frame: 1, object: 0)
        #expect(s.objects(onFrame: 1)[0].points == [Point(x: 0.4, y: 0.4)])
        s = try s.deleting([Point(x: 0.4, y: 0.4)], frame: 1, object: 0)
        #expect(s.isEmpty)
        #expect(s.markedFrames.isEmpty)
    }

    @Test func codableRoundTrip() throws {
        let s = try Selection.empty
            .adding([Point(x: 0.1, y: 0.2, include: false)], frame: 4, object: 2, limits: limits)
            .adding([Point(x: 0.3, y: 0.4)], frame: 1, object: 0, limits: limits)
        let data = try JSONEncoder().encode(s)
        #expect(try JSONDecoder().decode(Selection.self, from: data) == s)
        #expect(s.objectIDs == [0, 2])
    }

    @Test("a prior is kept with an object's first points on a frame and goes with the last of them")
    func priors() throws {
        let prior = RLEMask(size: [4, 4], counts: "4444")
        let other = RLEMask(size: [4, 4], counts: "88")
        var s = try Selection.empty.adding([Point(x: 0.5, y: 0.5)], frame: 2, object: 1, limits: limits, prior: prior)
        #expect(s.objects(onFrame: 2) == [MarkedObject(objectID: 1, points: [Point(x: 0.5, y: 0.5)], prior: prior)])
        #expect(!s.isUnmarked(frame: 2, object: 1) && s.isUnmarked(frame: 2, object: 0) && s.isUnmarked(frame: 3, object: 1))
        // Later points (and a re-add) keep the first prior; another object on the frame has its own.
        s = try s.adding([Point(x: 0.1, y: 0.1)], frame: 2, object: 1, limits: limits, prior: other)
        #expect(s.objects(onFrame: 2)[0].prior == prior)
        #expect(try s.adding([Point(x: 0.1, y: 0.1)], frame: 2, object: 1, limits: limits, prior: other) == s)
        s = try s.adding([Point(x: 0.9, y: 0.9)], frame: 2, object: 3, limits: limits)
        #expect(s.objects(onFrame: 2).map(\.prior) == [prior, nil])
        // Stored and read back with the points; a stored selection without priors still reads.
        let data = try JSONEncoder().encode(s)
        #expect(try JSONDecoder().decode(Selection.self, from: data) == s)
        let old = #"[{"frame":2,"object":1,"points":[{"x":0.5,"y":0.5,"include":true}]}]"#
        #expect(try JSONDecoder().decode(Selection.self, from: Data(old.utf8)).objects(onFrame: 2)[0].prior == nil)
        // A refused add changes nothing, the prior included.
        let full = try (0..<10).reduce(Selection.empty) { sel, f in
            try sel.adding([Point(x: 0.5, y: 0.5)], frame: f, object: 0, limits: limits)
        }
        #expect(throws: RotoError.self) { try full.adding([Point(x: 0.5, y: 0.5)], frame: 10, object: 0, limits: limits, prior: prior) }
        // Deleting the object's last points on the frame drops its prior; points added later start afresh.
        s = try s.deleting([Point(x: 0.5, y: 0.5), Point(x: 0.1, y: 0.1)], frame: 2, object: 1)
        #expect(s.priors[2]?[1] == nil && s.isUnmarked(frame: 2, object: 1))
        s = try s.adding([Point(x: 0.5, y: 0.5)], frame: 2, object: 1, limits: limits)
        #expect(s.objects(onFrame: 2)[0].prior == nil)
    }

    func command(_ json: String) throws(RotoError) -> PointsCommand {
        try PointsCommand(FieldReader(body: Array(json.utf8)), limits: limits)
    }

    @Test func commandValidation() throws {
        let ok = try command(#"{"session_id":"1","frame_index":3,"points":[{"x":0,"y":1,"label":0}],"object_id":2}"#)
        #expect(ok.points == [Point(x: 0, y: 1, include: false)])
        #expect(ok.objectID == 2)
        let cases: [(String, String)] = [
            (#"{"frame_index":3,"points":[{"x":0,"y":1}]}"#, "session_id"),
            (#"{"session_id":"1","frame_index":1.5,"points":[{"x":0,"y":1}]}"#, "frame_index: must be an integer (got 1.5)"),
            (#"{"session_id":"1","frame_index":-1,"points":[{"x":0,"y":1}]}"#, "frame_index"),
            // Past 2^53 the digits received cannot be quoted back exactly (9223372036854775808 was).
            (#"{"session_id":"1","frame_index":9223372036854775807,"points":[{"x":0,"y":1}]}"#,
             "frame_index: must be an integer (got about 9.223372036854776e+18, beyond the 2^53"),
            (#"{"session_id":"1","frame_index":0,"points":[]}"#, "points: must hold 1–10 points"),
            (#"{"session_id":"1","frame_index":0,"points":{}}"#, "points: must be an array"),
            (#"{"session_id":"1","frame_index":0,"points":[{"x":1.5,"y":0}]}"#, "points[0].x: must be within [0, 1] (got 1.5)"),
            (#"{"session_id":"1","frame_index":0,"points":[{"x":0.5}]}"#, "points[0].y"),
            (#"{"session_id":"1","frame_index":0,"points":[{"x":"0.5","y":0}]}"#, "points[0].x: must be a finite number"),
            (#"{"session_id":"1","frame_index":0,"points":[{"x":0.5,"y":0,"label":2}]}"#, "points[0].label"),
            (#"{"session_id":"1","frame_index":0,"points":[{"x":0.5,"y":0}],"object_id":-1}"#, "object_id"),
            (#"{"session_id":"1","frame_index":0,"points":[1]}"#, "points[0]: must be an object"),
        ]
        for (json, expected) in cases {
            do {
                _ = try command(json)
                Issue.record("accepted \(json)")
            } catch {
                #expect(error.code == .invalidParameter)
                #expect(error.message.contains(expected), "\(error.message)")
            }
        }
        let eleven = "[" + Array(repeating: #"{"x":0.5,"y":0.5}"#, count: 11).joined(separator: ",") + "]"
        #expect(throws: RotoError.self) { try command(#"{"session_id":"1","frame_index":0,"points":\#(eleven)}"#) }
        #expect(throws: RotoError.self) { try ok.checkFrame(totalFrames: 3) }
        try ok.checkFrame(totalFrames: 4)
    }

    @Test func bodyErrorsAre1200() {
        for body in ["", "nope", "[]", "3", "\"s\""] {
            do {
                _ = try FieldReader(body: Array(body.utf8))
                Issue.record("accepted \(body)")
            } catch {
                #expect(error.code == .invalidBody)
            }
        }
        // An 18–19-digit id sent as a number: quoted in full, and told to send it as a string.
        do {
            _ = try FieldReader(body: Array(#"{"session_id":1152921504606846976}"#.utf8)).string("session_id")
            Issue.record("a number was read as a string")
        } catch {
            #expect(error.code == .invalidParameter)
            #expect(error.message.contains("send ids as strings") && error.message.contains("(got 1152921504606846976)"),
                    "\(error.message)")
        }
        // The message says where and why, so a client can find its mistake.
        for (body, reason) in [(#"{"points":[{"x":1e400}]}"#, "number 1e400 does not fit a 64-bit float"),
                               (#"{"x" 1}"#, "invalid value around character 5"),
                               (#"{"x":01}"#, "number with leading zero around character 6"),
                               (#"{"x":1"#, "unexpected end of file")] {
            do {
                _ = try FieldReader(body: Array(body.utf8))
                Issue.record("accepted \(body)")
            } catch {
                #expect(error.code == .invalidBody)
                #expect(error.message.hasPrefix("request body is not valid JSON (") && error.message.contains(reason),
                        "\(body): \(error.message)")
            }
        }
    }
}
