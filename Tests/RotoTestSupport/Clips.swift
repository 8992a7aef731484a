import Foundation

/// Test media made with the ffmpeg CLI at test time (never downloaded, never committed), cached per test
/// process. Shared by the server and client test targets; each adds its own clips in an extension.
public enum Clips {
    /// Where the clips of this test process go.
    public static let directory: String = {
        let path = (TestScratch.root as NSString).appendingPathComponent("clips")
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    /// Makes `name` with the given ffmpeg arguments (output path appended) unless it exists.
    public static func make(_ name: String, _ arguments: [String]) throws -> String {
        let path = (directory as NSString).appendingPathComponent(name)
        if FileManager.default.fileExists(atPath: path) { return path }
        // Parallel tests may make the same clip: each writes its own part file, rename(2) replaces atomically.
        let tmp = path + ".part-\(UUID().uuidString)." + (name as NSString).pathExtension
        try run("/usr/bin/ffmpeg", ["-hide_banner", "-loglevel", "error", "-y"] + arguments + [tmp])
        guard rename(tmp, path) == 0 else { throw CocoaError(.fileWriteUnknown) }
        return path
    }

    /// Runs `tool`; throws when it exits with a non-zero status.
    public static func run(_ tool: String, _ arguments: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = arguments
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown) }
    }

    /// 1280×720, 30 fps, 3 s: a red 240×180 box whose left edge moves 100 px/s from x = 200 (y = 270) over
    /// a noisy green background. On frame 15 the box's centre is at (335, 360) px.
    public static func movingBox() throws -> String {
        try make("moving.mp4", [
            "-f", "lavfi", "-i", "color=c=0x3a5a40:s=1280x720:r=30:d=3,noise=alls=12:allf=t[bg];"
                + "color=c=0xD02020:s=240x180:r=30:d=3[box];[bg][box]overlay=x='200+100*t':y=270",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        ])
    }

    /// 1280×720, 30 fps, 2 s: a still object of two colours over a noisy green background — a red
    /// 240×180 block (x 300–540) with a blue 120×180 block attached on its right (x 540–660), y 270–450.
    public static func twoToneObject() throws -> String {
        try make("two-tone.mp4", [
            "-f", "lavfi", "-i", "color=c=0x3a5a40:s=1280x720:r=30:d=2,noise=alls=12:allf=t[bg];"
                + "color=c=0xD02020:s=240x180:r=30:d=2[red];color=c=0x2030D0:s=120x180:r=30:d=2[blue];"
                + "[red][blue]hstack[obj];[bg][obj]overlay=x=300:y=270",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        ])
    }
}
