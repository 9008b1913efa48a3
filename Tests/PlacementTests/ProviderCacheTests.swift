import Logging
import SQLKit
import StratusCore
import XCTest

@testable import Placement

final class ProviderCacheTests: XCTestCase {
    /// 300 providers through a cache with room for fewer: every refresh still answers for all
    /// of them, the cache never holds more than its bound, and deleted providers leave it.
    func testEntriesStayWithinTheirByteBound() async throws {
        let db = try await Database.open(connection: ":memory:", logger: Logger(label: "test"))
        try await db.migrate(PlacementMigrations.all, logger: Logger(label: "test"))
        let api = PlacementAPI(db: db, policy: try PolicyEngine(defaults: [:]))
        try await db.transaction { db in
            for n in 0..<300 {
                let uuid = "00000000-0000-0000-0000-\(String(format: "%012d", n))"
                try await db.raw(
                    """
                    INSERT INTO resource_providers (uuid, name, generation, root_uuid, created_at, updated_at)
                    VALUES (\(bind: uuid), \(bind: "rp\(n)"), 1, \(bind: uuid), 0, 0)
                    """
                ).run()
                for rc in ["VCPU", "MEMORY_MB", "DISK_GB"] {
                    try await db.raw(
                        """
                        INSERT INTO inventories (provider, resource_class, total, reserved, min_unit, max_unit,
                        step_size, allocation_ratio) VALUES (\(bind: uuid), \(bind: rc), 64, 0, 1, 64, 1, 1.0)
                        """
                    ).run()
                }
            }
        }
        let limit = 100 * 1024
        let cache = ProviderCache(byteLimit: limit)
        for _ in 0..<2 {
            let (entries, order) = try await db.read { db in try await cache.refresh(in: db, api: api) }
            XCTAssertEqual(order.count, 300)
            XCTAssertEqual(entries.values.filter { $0.capacity.count == 3 }.count, 300)
            XCTAssertGreaterThan(cache.bytes, limit / 2)
            XCTAssertLessThanOrEqual(cache.bytes, limit)
        }
        let unbounded = ProviderCache()
        _ = try await db.read { db in try await unbounded.refresh(in: db, api: api) }
        XCTAssertGreaterThan(unbounded.bytes, limit, "all 300 fit in the default bound")
        try await db.read { db in try await db.raw("DELETE FROM inventories").run() }
        try await db.read { db in try await db.raw("DELETE FROM resource_providers WHERE name <> 'rp0'").run() }
        _ = try await db.read { db in try await unbounded.refresh(in: db, api: api) }
        XCTAssertLessThan(unbounded.bytes, 4096, "deleted providers are forgotten")
        await db.close()
    }
}
