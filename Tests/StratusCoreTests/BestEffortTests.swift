import Foundation
import Logging
import StratusCore
import XCTest

final class BestEffortTests: XCTestCase {
    /// Keeps what is logged.
    final class Captured: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func append(_ line: String) { lock.withLock { lines.append(line) } }
        var all: [String] { lock.withLock { lines } }
    }

    struct CapturingHandler: LogHandler {
        let captured: Captured
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) { captured.append("\(event.level) \(event.message)") }
    }

    struct Broken: Error, CustomStringConvertible { var description: String { "the disk is full" } }

    func testFailuresAreLoggedNotSwallowed() async {
        let captured = Captured()
        let logger = Logger(label: "test") { _ in CapturingHandler(captured: captured) }
        let value = await logger.bestEffort("counting") { () async in 42 }
        XCTAssertEqual(value, 42)
        let failed: Int? = await logger.bestEffort("writing the record of x") { () async throws in throw Broken() }
        XCTAssertNil(failed)
        XCTAssertEqual(captured.all, ["warning writing the record of x failed: the disk is full"])
        let absent: String? = await logger.bestEffort("reading") { nil as String? }
        XCTAssertNil(absent, "an absent answer stays absent, without a warning")
        XCTAssertEqual(captured.all.count, 1)
        let synchronous: Int? = logger.bestEffort("removing a file") { throw Broken() }
        XCTAssertNil(synchronous)
        XCTAssertEqual(captured.all.last, "warning removing a file failed: the disk is full", "the synchronous form logs the same")
    }
}
