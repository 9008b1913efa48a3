import Hummingbird
import StratusCore

extension ComputeAPI {
    /// Version discovery: `/` lists v2.0 and v2.1, `/v2.1` and `/v2` describe each.
    func registerVersions(on router: Router<StratusContext>) {
        router.get("/") { request, _ -> Response in
            .json(["versions": [Self.version("v2.0", request), Self.version("v2.1", request)]], status: .ok)
        }
        for (path, id) in [("/v2.1", "v2.1"), ("/v2", "v2.0")] {
            router.get(RouterPath(path)) { request, _ -> Response in
                var version = Self.version(id, request)
                if case .object(var object) = version {
                    object["media-types"] = [["base": "application/json", "type": .string("application/vnd.openstack.compute+json;version=\(id == "v2.1" ? "2.1" : "2")")]]
                    if case .array(var links) = object["links"] {
                        links.append(["rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"])
                        object["links"] = .array(links)
                    }
                    version = .object(object)
                }
                return .json(["version": version])
            }
        }
    }

    static func version(_ id: String, _ request: Request) -> JSON {
        let current = id == "v2.1"
        return [
            "id": .string(id), "status": current ? "CURRENT" : "SUPPORTED",
            "version": current ? .string(versions.max.description) : "", "min_version": current ? .string(versions.min.description) : "",
            "updated": current ? "2013-07-23T11:33:21Z" : "2011-01-21T11:33:21Z",
            "links": [["rel": "self", "href": .string("\(request.baseURL)/\(current ? "v2.1" : "v2")/")]],
        ]
    }
}
