import StratusCore
import XCTest

@testable import Identity

/// Endpoint URL templates filled with the token's project, as Keystone does for Swift.
final class CatalogTemplateTests: XCTestCase {
    func testProjectTemplatesAreFilledPerProject() {
        let catalog: JSON = [
            [
                "type": "object-store",
                "endpoints": [["url": "http://h:8080/v1/AUTH_%(project_id)s"], ["url": "http://h/$(tenant_id)s/x"]],
            ]
        ]
        let scoped = Catalog.scoped(catalog, projectID: "p1")
        let urls = scoped.arrayValue?.first?["endpoints"]?.arrayValue?.compactMap { $0["url"]?.stringValue }
        XCTAssertEqual(urls, ["http://h:8080/v1/AUTH_p1", "http://h/p1/x"])
        XCTAssertEqual(
            Catalog.substitute("http://h/AUTH_%(project_id)s", projectID: nil), "http://h/AUTH_%(project_id)s")
    }
}
