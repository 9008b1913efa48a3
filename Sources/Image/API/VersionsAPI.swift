import Hummingbird
import StratusCore

extension ImageAPI {
    /// Image API versions served, oldest first; the last is CURRENT. 2.17 (the new locations
    /// API) is not offered.
    static let versions = ["2.0", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7", "2.8", "2.9", "2.10", "2.11", "2.12", "2.13", "2.14", "2.15", "2.16"]

    static func versionsDocument(base: String) -> JSON {
        let entries: [JSON] = versions.reversed().map { version in
            [
                "id": .string("v\(version)"), "status": .string(version == versions.last ? "CURRENT" : "SUPPORTED"),
                "links": [["rel": "self", "href": .string("\(base)/v2/")]],
            ]
        }
        return ["versions": .array(entries)]
    }

    func registerVersions(on router: Router<StratusContext>) {
        router.get("/") { request, _ in
            Response.json(Self.versionsDocument(base: request.baseURL), status: .multipleChoices)
        }
        router.get("/versions") { request, _ in
            Response.json(Self.versionsDocument(base: request.baseURL))
        }
    }
}
