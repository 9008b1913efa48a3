import StratusCore
import XCTest

@testable import BlockStorage

final class PoolFiltersTests: XCTestCase {
    func pool(
        _ host: String, total: Double, free: Double, allocated: Int, thin: Bool, name: String = "file"
    ) -> PoolCandidate {
        PoolCandidate(
            host: host, zone: "nova",
            capabilities: PoolCapabilities(
                backendName: name, pool: name,
                stats: BackendStats(totalGB: total, freeGB: free, thinProvisioning: thin, storageProtocol: "local"),
                allocatedGB: allocated, maxOverSubscriptionRatio: 2, reservedPercentage: 0))
    }

    func testThickPoolsNeedFreeSpaceThinPoolsTheirRatio() {
        XCTAssertFalse(
            PoolFilters.hasCapacity(pool("a", total: 10, free: 4, allocated: 6, thin: false).capabilities, 5))
        XCTAssertTrue(PoolFilters.hasCapacity(pool("a", total: 10, free: 4, allocated: 6, thin: true).capabilities, 5))
        XCTAssertFalse(
            PoolFilters.hasCapacity(pool("a", total: 10, free: 4, allocated: 18, thin: true).capabilities, 5))
    }

    func testChoosesTheRequestedBackendWithTheMostRoom() {
        let pools = [
            pool("h@a", total: 100, free: 90, allocated: 0, thin: true, name: "fast"),
            pool("h@b", total: 100, free: 50, allocated: 0, thin: false, name: "slow"),
            pool("h@c", total: 100, free: 10, allocated: 0, thin: false, name: "slow"),
        ]
        XCTAssertEqual(
            PoolFilters.choose(pools, for: PoolRequest(sizeGB: 1, zone: "nova", extraSpecs: [:]))?.host, "h@a")
        let slow = PoolRequest(sizeGB: 1, zone: "nova", extraSpecs: ["volume_backend_name": "slow"])
        XCTAssertEqual(PoolFilters.choose(pools, for: slow)?.host, "h@b")
        let thin = PoolRequest(
            sizeGB: 1, zone: "nova", extraSpecs: ["capabilities:thin_provisioning_support": "<is> True"])
        XCTAssertEqual(PoolFilters.choose(pools, for: thin)?.host, "h@a")
        XCTAssertNil(PoolFilters.choose(pools, for: PoolRequest(sizeGB: 1, zone: "other", extraSpecs: [:])))
        XCTAssertNil(
            PoolFilters.choose(
                pools, for: PoolRequest(sizeGB: 1, zone: "nova", extraSpecs: ["volume_backend_name": "x"])))
    }

    func testExtraSpecOperators() {
        XCTAssertTrue(PoolFilters.satisfies(.bool(true), "<is> True"))
        XCTAssertFalse(PoolFilters.satisfies(.bool(false), "<is> True"))
        XCTAssertTrue(PoolFilters.satisfies(.double(12.5), ">= 10"))
        XCTAssertFalse(PoolFilters.satisfies(.double(2), ">= 10"))
        XCTAssertTrue(PoolFilters.satisfies(.string("local"), "<or> iSCSI <or> local"))
        XCTAssertTrue(PoolFilters.satisfies(.string("Open Source"), "Open Source"))
    }

    func testMetadataFilterReadsPythonDicts() throws {
        XCTAssertEqual(try BlockStorageAPI.parseMetadataFilter("{'Type': 'work'}"), ["Type": "work"])
        XCTAssertEqual(try BlockStorageAPI.parseMetadataFilter("{\"a\": \"b\"}"), ["a": "b"])
        XCTAssertThrowsError(try BlockStorageAPI.parseMetadataFilter("Type=work"))
    }
}
