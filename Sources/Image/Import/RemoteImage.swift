import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import StratusCore

/// Outbound HTTP the import methods need: checking web-download hosts, and finding and
/// reading an image in another Image service through the Identity catalog (glance-download).
enum RemoteImage {
    /// Whether `host` resolves; checked before accepting a web-download so that a typo fails
    /// the request instead of a task minutes later.
    static func resolves(_ host: String) async -> Bool {
        (try? await NIOThreadPool.singleton.runIfActive {
            var result: UnsafeMutablePointer<addrinfo>?
            let status = getaddrinfo(host, nil, nil, &result)
            if let result { freeaddrinfo(result) }
            return status == 0
        }) ?? false
    }

    /// The image endpoint of `region` and `interface` in the caller's catalog.
    static func imageEndpoint(identityURL: String, token: String, region: String, interface: String) async throws
        -> String
    {
        guard !identityURL.isEmpty else {
            throw APIError.badRequest("No Identity endpoint is configured for catalog lookups.")
        }
        let catalog = try await getJSON("\(identityURL)/auth/catalog", token: token)
        for service in catalog["catalog"]?.arrayValue ?? [] where service["type"]?.stringValue == "image" {
            for endpoint in service["endpoints"]?.arrayValue ?? [] {
                let endpointRegion = endpoint["region_id"]?.stringValue ?? endpoint["region"]?.stringValue
                if endpoint["interface"]?.stringValue == interface, endpointRegion == region,
                    let url = endpoint["url"]?.stringValue
                {
                    return url.hasSuffix("/") ? String(url.dropLast()) : url
                }
            }
        }
        throw APIError.notFound(
            "No image endpoint with region '\(region)' and interface '\(interface)' in the catalog.")
    }

    static func getJSON(_ url: String, token: String) async throws -> JSON {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "X-Auth-Token", value: token)
        request.headers.add(name: "Accept", value: "application/json")
        let response = try await PeerHTTP.client.execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 4 << 20)
        guard response.status.code == 200 else {
            throw APIError.badRequest("GET \(url) answered \(response.status.code)")
        }
        return try JSON.parse(Array(body.readableBytesView))
    }

    /// Streams the body of `url` (200 only) into `body`.
    static func download<R>(_ url: String, token: String?, _ body: (HTTPClientResponse.Body) async throws -> R)
        async throws -> R
    {
        var request = HTTPClientRequest(url: url)
        if let token { request.headers.add(name: "X-Auth-Token", value: token) }
        let response = try await PeerHTTP.client.execute(request, timeout: .hours(6))
        guard response.status.code == 200 else {
            throw APIError.badRequest("GET \(url) answered \(response.status.code)")
        }
        return try await body(response.body)
    }
}
