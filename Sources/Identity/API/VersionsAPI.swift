import Hummingbird
import StratusCore

extension IdentityAPI {
    static let versionID = "v3.14"
    static let versionUpdated = "2020-04-07T00:00:00Z"

    static func versionDocument(base: String) -> JSON {
        [
            "id": .string(versionID), "status": "stable", "updated": .string(versionUpdated),
            "links": [["rel": "self", "href": .string("\(base)/v3/")]],
            "media-types": [["base": "application/json", "type": "application/vnd.openstack.identity-v3+json"]],
        ]
    }

    func registerVersions(on router: Router<StratusContext>) {
        router.get("/") { request, _ in
            let body: JSON = ["versions": ["values": [Self.versionDocument(base: baseURL(request))]]]
            return Response.json(body, status: .multipleChoices, headers: [.location: "\(baseURL(request))/v3/"])
        }
        router.get("/v3") { request, _ in
            Response.json(["version": Self.versionDocument(base: baseURL(request))])
        }
    }
}
