import Hummingbird
import StratusCore

/// Version discovery: `GET /` (300, no token needed) and `GET /v3/`.
extension BlockStorageAPI {
    func registerVersions(on router: Router<StratusContext>) {
        router.get("/") { request, _ -> Response in
            .json(["versions": [Self.version(request)]], status: .multipleChoices)
        }
        router.get("/v3") { request, _ -> Response in
            .json(["versions": [Self.version(request)]])
        }
    }

    static func version(_ request: Request) -> JSON {
        [
            "id": "v3.0", "status": "CURRENT", "version": .string(versions.max.description),
            "min_version": .string(versions.min.description), "updated": "2023-08-31T00:00:00Z",
            "links": [
                ["rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"],
                ["rel": "self", "href": .string("\(request.baseURL)/v3/")],
            ],
            "media-types": [["base": "application/json", "type": "application/vnd.openstack.volume+json;version=3"]],
        ]
    }
}
