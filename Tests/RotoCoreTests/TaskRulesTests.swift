import Foundation
import RotoAPI
import RotoCore
import Testing

@Suite struct TaskRulesTests {
    let limits = Limits()

    func command(_ json: String) throws(RotoError) -> TaskCommand {
        try TaskCommand(try FieldReader(body: Array(json.utf8)), limits: limits)
    }

    func message(_ json: String) -> String {
        do {
            _ = try command(json)
            return "accepted"
        } catch {
            return error.message
        }
    }

    @Test func defaultsAndFields() throws {
        let c = try command(#"{"session_id":"1","edit_mode":"removal","prompt":"remove <<<video_1>>>","external_task_id":"","callback_url":""}"#)
        #expect(c.mode == .std)
        #expect(c.duration == "5")
        #expect(!c.watermark)
        #expect(c.externalTaskID == nil && c.callbackURL == nil)
        #expect(c.images.isEmpty)
        // Every optional string counts as absent when empty (clients that send unset fields as "").
        let e = try command(#"{"session_id":"1","edit_mode":"removal","prompt":"x","model_name":"","mode":"","duration":"","negative_prompt":""}"#)
        #expect(e.mode == .std && e.duration == "5" && e.modelName == nil && e.negativePrompt == nil)
        let p = try command(#"{"session_id":"1","edit_mode":"swap","prompt":"<<<image_1>>>","mode":"pro","duration":"10","image_list":[{"image":"https://example.com/a.png"}],"watermark_info":{"enabled":true},"model_name":"kling-v1-6"}"#)
        #expect(p.mode == .pro && p.duration == "10" && p.watermark)
        #expect(p.images == [.url("https://example.com/a.png")])
    }

    @Test func imageReferencesAndSources() {
        #expect(message(#"{"session_id":"1","edit_mode":"removal","prompt":"<<<image_1>>>"}"#).contains("<<<image_1>>>"))
        #expect(message(#"{"session_id":"1","edit_mode":"removal","prompt":"<<<video_2>>>"}"#).contains("video_1"))
        // A number too large for an integer is as far out of range as any other (it was ignored).
        #expect(message(#"{"session_id":"1","edit_mode":"swap","prompt":"<<<image_99999999999999999999>>>","image_list":[{"image":"AAAA"}]}"#)
            .contains("<<<image_99999999999999999999>>> refers to an image"))
        #expect(message(#"{"session_id":"1","edit_mode":"swap","prompt":"<<<image_01>>> and <<<image_x>>>","image_list":[{"image":"AAAA"}]}"#) == "accepted")
        #expect(message(#"{"session_id":"1","edit_mode":"swap","prompt":"<<<image_+1>>>","image_list":[{"image":"AAAA"}]}"#) == "accepted")
        // A task query by an external id spelled like an action would reach the action's route.
        #expect(message(#"{"session_id":"1","edit_mode":"removal","prompt":"x","external_task_id":"preview-selection"}"#)
            .contains("external_task_id: must not be the name of a selection action"))
        #expect(message(#"{"session_id":"1","edit_mode":"removal","prompt":"x","external_task_id":"preview-selection-2"}"#) == "accepted")
        // Extra brackets or an unclosed opener before a reference do not hide it.
        #expect(message(#"{"session_id":"1","edit_mode":"removal","prompt":"x <<<<image_3>>>"}"#).contains("<<<image_3>>> refers to an image"))
        #expect(message(#"{"session_id":"1","edit_mode":"removal","prompt":"<<< then <<<image_1>>>"}"#).contains("<<<image_1>>> refers to an image"))
        #expect(message(#"{"session_id":"1","edit_mode":"swap","prompt":"<<<<image_1>>>> and >>> alone","image_list":[{"image":"AAAA"}]}"#) == "accepted")
        #expect(message(#"{"session_id":"1","edit_mode":"addition","prompt":"x","image_list":[{"image":"data:image/png;base64,AAAA"}]}"#).contains("data:"))
        #expect(message(#"{"session_id":"1","edit_mode":"addition","prompt":"x","image_list":[{"image":"AAAA"}],"duration":5}"#).contains("duration: must be a string"))
        #expect(message(#"{"session_id":"1","edit_mode":"addition","prompt":"x","image_list":[{}]}"#).contains("image_list[0].image"))
    }

    @Test func durationClassAgainstTheSession() throws {
        let five = try command(#"{"session_id":"1","edit_mode":"removal","prompt":"x"}"#)
        try five.checkAgainstSession(durationMillis: 3000, selectionIsEmpty: false)
        #expect(throws: RotoError.self) { try five.checkAgainstSession(durationMillis: 6000, selectionIsEmpty: false) }
        #expect(throws: RotoError.self) { try five.checkAgainstSession(durationMillis: 3000, selectionIsEmpty: true) }
        let add = try command(#"{"session_id":"1","edit_mode":"addition","prompt":"x","image_list":[{"image":"AAAA"}],"duration":"10"}"#)
        try add.checkAgainstSession(durationMillis: 10_000, selectionIsEmpty: true)
        #expect(throws: RotoError.self) { try add.checkAgainstSession(durationMillis: 5_000, selectionIsEmpty: true) }
    }

    @Test func imageFactsByContent() throws {
        // A PNG header of 640×480.
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13] + Array("IHDR".utf8)
        png += [0, 0, 2, 128, 0, 0, 1, 224, 8, 2, 0, 0, 0]
        #expect(ImageFacts.sniff(png) == ImageFacts(format: .png, width: 640, height: 480))
        // A JPEG with an APP0 segment, then SOF0 of 1000×300.
        let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0, 0xFF, 0xC0, 0, 17, 8, 1, 44, 3, 232, 3]
        #expect(ImageFacts.sniff(jpeg) == ImageFacts(format: .jpeg, width: 1000, height: 300))
        #expect(ImageFacts.sniff(Array("GIF89a....".utf8)) == nil)
        #expect(throws: RotoError.self) { try ImageFacts.check(jpeg, field: "f", limits: limits) }  // 1000:300 > 2.5
        #expect(throws: RotoError.self) { try ImageFacts.check(png + [UInt8](repeating: 0, count: 10_000_001), field: "f", limits: limits) }
        #expect(try ImageFacts.check(png, field: "f", limits: limits).width == 640)
    }
}
