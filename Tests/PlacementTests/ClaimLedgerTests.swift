import StratusCore
import XCTest

@testable import Placement

/// The in-memory checks of `ClaimLedger`, which decide every claim of a batched transaction.
final class ClaimLedgerTests: XCTestCase {
    static func capacity(_ capacity: Int, used: Int = 0, maxUnit: Int = 100, step: Int = 1) -> PlacementAPI.Capacity {
        PlacementAPI.Capacity(capacity: capacity, used: used, maxUnit: maxUnit, minUnit: 1, stepSize: step)
    }

    static func claim(_ consumer: String, _ allocations: [String: [String: Int]], generation: JSON? = nil)
        -> PlacementAPI.Claim
    {
        PlacementAPI.Claim(
            consumer: consumer, allocations: allocations, projectID: "p", userID: "u", generation: generation)
    }

    func ledger(vcpus: Int = 4, used: Int = 0, consumers: [String: ClaimLedger.Consumer] = [:]) -> ClaimLedger {
        ClaimLedger(
            consumers: consumers,
            providers: [
                "rp": .init(generation: 7, capacity: ["VCPU": Self.capacity(vcpus, used: used, maxUnit: 4, step: 1)])
            ])
    }

    func code(of error: any Error) -> String? { (error as? APIError)?.type }

    func testLaterGroupsSeeEarlierOnesAndAFailedGroupChangesNothing() throws {
        var ledger = ledger(vcpus: 4)
        try ledger.apply([Self.claim("a", ["rp": ["VCPU": 3]])])
        XCTAssertThrowsError(try ledger.apply([Self.claim("b", ["rp": ["VCPU": 2]])])) { error in
            XCTAssertEqual((error as? APIError)?.status, .conflict, "only 1 VCPU is left")
        }
        // A group is all or nothing: the first claim fits, the second does not.
        XCTAssertThrowsError(
            try ledger.apply([Self.claim("c", ["rp": ["VCPU": 1]]), Self.claim("d", ["rp": ["VCPU": 1]])]))
        XCTAssertEqual(ledger.providers["rp"]?.capacity["VCPU"]?.used, 3)
        XCTAssertEqual(ledger.changed, ["a"])
        XCTAssertEqual(ledger.consumers["a"]?.generation, 0)
        try ledger.apply([Self.claim("c", ["rp": ["VCPU": 1]])])
        XCTAssertEqual(ledger.providers["rp"]?.capacity["VCPU"]?.used, 4)
        XCTAssertEqual(ledger.touched, ["rp"])
    }

    func testReplacingAConsumersAllocationsFreesItsOldUsageFirst() throws {
        let old = ClaimLedger.Consumer(
            project: "p", user: "u", generation: 3, type: "INSTANCE", allocations: ["rp": ["VCPU": 3]])
        var ledger = ledger(vcpus: 4, used: 3, consumers: ["a": old])
        try ledger.apply([Self.claim("a", ["rp": ["VCPU": 4]], generation: 3)])
        XCTAssertEqual(ledger.providers["rp"]?.capacity["VCPU"]?.used, 4)
        XCTAssertEqual(ledger.consumers["a"]?.generation, 4)
        XCTAssertEqual(ledger.consumers["a"]?.type, "INSTANCE", "a claim without a type keeps the consumer's")
        try ledger.apply([Self.claim("a", [:], generation: 4)])
        XCTAssertNil(ledger.consumers["a"], "no allocations left: the consumer goes")
        XCTAssertEqual(ledger.providers["rp"]?.capacity["VCPU"]?.used, 0)
        XCTAssertEqual(ledger.loaded["a"], old)
    }

    func testGenerationsUnitsAndUnknownProviders() {
        let old = ClaimLedger.Consumer(
            project: "p", user: "u", generation: 1, type: nil, allocations: ["rp": ["VCPU": 1]])
        var ledger = ledger(vcpus: 8, used: 1, consumers: ["a": old])
        XCTAssertThrowsError(try ledger.apply([Self.claim("a", ["rp": ["VCPU": 1]], generation: .null)])) { error in
            XCTAssertEqual(self.code(of: error), "placement.concurrent_update")
        }
        XCTAssertThrowsError(try ledger.apply([Self.claim("b", ["rp": ["VCPU": 1]], generation: 0)])) { error in
            XCTAssertEqual(self.code(of: error), "placement.concurrent_update", "a new consumer has no generation 0")
        }
        XCTAssertThrowsError(try ledger.apply([Self.claim("b", ["rp": ["VCPU": 5]])])) { error in
            XCTAssertEqual((error as? APIError)?.status, .badRequest, "above max_unit")
        }
        XCTAssertThrowsError(try ledger.apply([Self.claim("b", ["rp": ["MEMORY_MB": 5]])])) { error in
            XCTAssertEqual((error as? APIError)?.status, .conflict, "no inventory of the class")
        }
        XCTAssertThrowsError(try ledger.apply([Self.claim("b", ["nowhere": ["VCPU": 1]])])) { error in
            XCTAssertEqual((error as? APIError)?.status, .notFound)
        }
        XCTAssertTrue(ledger.changed.isEmpty)
        XCTAssertTrue(ledger.touched.isEmpty)
    }
}
