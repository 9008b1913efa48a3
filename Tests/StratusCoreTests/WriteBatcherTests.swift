import StratusCore
import Synchronization
import XCTest

final class WriteBatcherTests: XCTestCase {
    struct Refused: Error, Equatable {
        let value: Int
    }

    /// Requests that arrive while a batch is written go together into the next one, each gets its
    /// own answer, and one request's failure is only its own.
    func testConcurrentRequestsShareBatchesAndKeepTheirOwnAnswers() async throws {
        let batcher = WriteBatcher<Int, Int>(limit: 8)
        let sizes = Mutex<[Int]>([])
        let write: WriteBatcher<Int, Int>.Writer = { batch in
            sizes.withLock { $0.append(batch.count) }
            try? await Task.sleep(for: .milliseconds(5))
            return batch.map { $0 % 10 == 3 ? .failure(Refused(value: $0)) : .success($0 * 2) }
        }
        let answers = await withTaskGroup(of: (Int, Result<Int, Refused>).self) { group in
            for value in 0..<50 {
                group.addTask {
                    do {
                        return (value, .success(try await batcher.submit(value, write: write)))
                    } catch let refused as Refused {
                        return (value, .failure(refused))
                    } catch {
                        return (value, .failure(Refused(value: -1)))
                    }
                }
            }
            return await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        XCTAssertEqual(answers.count, 50)
        for (value, answer) in answers {
            XCTAssertEqual(answer, value % 10 == 3 ? .failure(Refused(value: value)) : .success(value * 2))
        }
        let batches = sizes.withLock { $0 }
        XCTAssertEqual(batches.reduce(0, +), 50, "every request written once")
        XCTAssertLessThanOrEqual(batches.max() ?? 0, 8, "batches stay within the limit")
        XCTAssertLessThan(batches.count, 50, "requests waiting on a write share the next one: \(batches)")
    }
}
