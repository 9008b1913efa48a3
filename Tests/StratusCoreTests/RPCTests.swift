import Foundation
import XCTest

@testable import StratusCore

final class RPCTests: XCTestCase {
    struct Add: Codable, Sendable, Equatable {
        var left: Int
        var right: Int
        var label: String?
        var document: JSON?
    }

    static let add = RPCMethod<Add, Int>(topic: "calculator", "add")
    static let echo = RPCMethod<Add, Add>(topic: "calculator", "echo")
    static let missing = RPCMethod<Add, Int>(topic: "calculator", "subtract")

    func testTypedCallsReachTheirOneHandler() async throws {
        let bus = InProcessBus()
        var handlers = RPCHandlers(topic: "calculator")
        handlers.on(Self.add) { $0.left + $0.right }
        handlers.on(Self.echo) { $0 }
        try await bus.listen(handlers, server: "one")
        XCTAssertEqual(handlers.methods, ["add", "echo"])

        let sum = try await bus.call(Self.add, Add(left: 2, right: 3))
        XCTAssertEqual(sum, 5)
        let document: JSON = [
            "flavor": ["vcpus": 2, "extra_specs": ["hw:cpu_policy": "shared"]], "ratio": 1.5, "on": true,
        ]
        let sent = Add(left: 1, right: 1, label: nil, document: document)
        let echoed = try await bus.call(Self.echo, on: "one", sent)
        XCTAssertEqual(echoed, sent, "JSON documents survive the trip")

        do {
            _ = try await bus.call(Self.missing, Add(left: 1, right: 1))
            XCTFail("a method nobody handles is an error")
        } catch let error as BusError {
            XCTAssertEqual(error, .remote("unknown method subtract"))
        }
    }

    func testMalformedArgumentsAreRefused() async throws {
        var handlers = RPCHandlers(topic: "calculator")
        handlers.on(Self.add) { $0.left + $0.right }
        do {
            _ = try await handlers.handle(BusMessage(method: "add", args: ["left": "two"]))
            XCTFail("arguments that do not decode are refused")
        } catch let error as BusError {
            guard case .malformed(let message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.hasPrefix("arguments of add"), message)
        }
    }

    func testJSONCodableKeepsKinds() throws {
        let value: JSON = [
            "null": .null, "bool": false, "int": 7, "double": 2.5, "string": "s", "array": [1, "a"],
            "object": ["k": [:]],
        ]
        let data = try JSONEncoder().encode(value)
        XCTAssertEqual(try JSONDecoder().decode(JSON.self, from: data), value)
    }
}

/// What the typed Placement client reads from Placement's bodies.
final class PlacementClientTests: XCTestCase {
    func testAllocationBodiesAndCapacity() {
        let body: JSON = ["rp-1": ["resources": ["VCPU": 2, "MEMORY_MB": 512]], "rp-2": ["resources": [:]]]
        XCTAssertEqual(RESTPlacementClient.amounts(body), ["rp-1": ["VCPU": 2, "MEMORY_MB": 512], "rp-2": [:]])
        XCTAssertEqual(RESTPlacementClient.allocationsBody(["rp-1": ["VCPU": 2]]), ["rp-1": ["resources": ["VCPU": 2]]])
        XCTAssertEqual(ProviderInventory(total: 16, reserved: 0, allocationRatio: 4).capacity, 64)
        XCTAssertEqual(ProviderInventory(total: 2048, reserved: 512, allocationRatio: 1.5).capacity, 2304)
    }
}
