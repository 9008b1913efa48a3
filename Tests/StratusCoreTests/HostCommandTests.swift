import Foundation
import StratusCore
import XCTest

final class HostCommandTests: XCTestCase {
    func testOutputAndFailures() async throws {
        let output = try await HostCommand.run(["sh", "-c", "echo out; echo err >&2"])
        XCTAssertEqual(output, "out\n")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("hostcommand-\(UUID().uuidString)").path
        try await HostCommand.run(["touch", file])
        XCTAssertTrue(FileManager.default.fileExists(atPath: file))
        try? FileManager.default.removeItem(atPath: file)
        let piped = try await HostCommand.run(["cat"], input: Data("piped".utf8))
        XCTAssertEqual(piped, "piped")
        do {
            try await HostCommand.run(["sh", "-c", "echo broken >&2; exit 3"])
            XCTFail("a failing command throws")
        } catch let failure as HostCommand.Failure {
            XCTAssertEqual(failure.status, 3)
            XCTAssertEqual(failure.output, "broken\n")
        }
        XCTAssertTrue(HostCommand.exists("sh"))
        XCTAssertFalse(HostCommand.exists("no-such-program-here"))
    }

    /// Input larger than a pipe holds reaches the child whole; a child that exits without
    /// reading it fails nothing (no SIGPIPE), and many runs at once all finish.
    func testLargeAndUnreadInput() async throws {
        let large = Data(repeating: 0x61, count: 1 << 20)
        let counted = try await HostCommand.run(["wc", "-c"], input: large)
        XCTAssertEqual(counted.trimmingCharacters(in: .whitespacesAndNewlines), "1048576")
        try await HostCommand.run(["true"], input: large)
        let outputs = try await withThrowingTaskGroup(of: String.self) { group in
            for n in 0..<64 { group.addTask { try await HostCommand.run(["echo", "\(n)"]) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        XCTAssertEqual(Set(outputs), Set((0..<64).map { "\($0)\n" }))
    }

    /// A program whose daemon outlives it (QEMU's -daemonize) returns when the foreground
    /// process exits: the daemon holds none of this process's descriptors.
    func testDaemonizingProgramReturns() async throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("daemon-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: log) }
        let duration = "30.\(Int.random(in: 100_000...999_999))"  // names this daemon for pkill
        let started = Date()
        try await HostCommand.runDaemon(["sh", "-c", "sleep \(duration) & echo started"], log: log)
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
        XCTAssertEqual(try String(contentsOfFile: log, encoding: .utf8), "started\n")
        // SIGTERM stops it: the daemon does not inherit this process's blocked signals.
        try await HostCommand.run(["pkill", "-TERM", "-f", "sleep \(duration)"])
        var gone = false
        for _ in 0..<50 where !gone {
            gone = (try? await HostCommand.run(["pgrep", "-f", "sleep \(duration)"])) == nil
            if !gone { try await Task.sleep(for: .milliseconds(100)) }
        }
        XCTAssertTrue(gone, "the daemon ignored SIGTERM")
        do {
            try await HostCommand.runDaemon(["sh", "-c", "echo cannot start; exit 1"], log: log)
            XCTFail("a failing program throws")
        } catch let failure as HostCommand.Failure {
            XCTAssertEqual(failure.status, 1)
            XCTAssertEqual(failure.output, "cannot start\n")
        }
    }
}
