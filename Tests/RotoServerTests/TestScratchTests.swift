import Foundation
@testable import RotoTestSupport
import Testing

/// The test processes' own files: each writes under one directory, and a later process removes those
/// left by processes that were killed before their exit hook ran.
@Suite struct TestScratchTests {
    @Test func directoriesAreUnderTheProcessRoot() {
        let a = TestScratch.directory("data"), b = TestScratch.directory("data")
        #expect(a != b)
        #expect(a.hasPrefix(TestScratch.root + "/data-") && b.hasPrefix(TestScratch.root + "/data-"))
        #expect(FileManager.default.fileExists(atPath: a))
        #expect(TestScratch.root.hasSuffix("/roto-tests-\(getpid())"))
    }

    @Test func onlyTheDirectoriesOfGoneProcessesAreRemoved() throws {
        let base = TestScratch.directory("base")
        // A process that has ended: its pid no longer runs.
        let ended = Process()
        ended.executableURL = URL(fileURLWithPath: "/bin/true")
        try ended.run()
        ended.waitUntilExit()
        let gone = base + "/roto-tests-\(ended.processIdentifier)"
        let live = base + "/roto-tests-\(getppid())"
        let mine = base + "/roto-tests-\(getpid())"
        let other = base + "/roto-tests-x"
        for path in [gone, live, mine, other] {
            try FileManager.default.createDirectory(atPath: path + "/inner", withIntermediateDirectories: true)
        }
        TestScratch.removeAbandoned(in: base)
        #expect(!FileManager.default.fileExists(atPath: gone))
        #expect(FileManager.default.fileExists(atPath: live + "/inner"))
        #expect(FileManager.default.fileExists(atPath: mine + "/inner"))
        #expect(FileManager.default.fileExists(atPath: other + "/inner"))
    }
}
