import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import StratusCore

/// Swift's static web: a container with `X-Container-Meta-Web-Index` or `-Web-Listings: true`
/// answers anonymous requests (and `X-Web-Mode: true`) as a web site: a directory URL serves
/// its index object or an HTML listing (styled by `-Web-Listings-CSS`), and a missing object
/// the `<status><Web-Error>` page.
struct StaticWeb {
    let api: SwiftAPI

    static let index = "x-container-meta-web-index"
    static let listings = "x-container-meta-web-listings"
    static let css = "x-container-meta-web-listings-css"
    static let error = "x-container-meta-web-error"

    static func applies(_ call: SwiftCall, _ info: ContainerInfo) -> Bool {
        guard call.method == .get || call.method == .head else { return false }
        let webMode = call.request.headers[HTTPField.Name("X-Web-Mode")!]?.lowercased() == "true"
        guard call.auth == nil || webMode else { return false }
        return info.metadata[index] != nil || Self.listingsOn(info)
    }

    static func listingsOn(_ info: ContainerInfo) -> Bool {
        ["true", "yes", "on", "1"].contains(info.metadata[listings]?.lowercased() ?? "")
    }

    /// A directory: the container itself, or an object path ending in `/` (`prefix`).
    func directory(_ call: SwiftCall, _ info: ContainerInfo, prefix: String) async throws -> Response {
        let raw = call.request.uri.path
        guard raw.hasSuffix("/") else {
            return Response(status: .movedPermanently, headers: [.location: raw + "/", .contentLength: "0"])
        }
        if let index = info.metadata[Self.index],
            try await api.read(call.path.account, info.name, prefix + index) != nil
        {
            return try await api.getObject(call, info, prefix + index)
        }
        guard Self.listingsOn(info) else { return try await errorPage(call, info, status: .notFound) }
        var query = ListingQuery()
        query.prefix = prefix
        query.delimiter = "/"
        let items = try await api.listings.listObjects(call.path.account, info.name, query)
        if !prefix.isEmpty && items.isEmpty { return try await errorPage(call, info, status: .notFound) }
        return Self.listing(items, title: raw, prefix: prefix, css: info.metadata[Self.css])
    }

    /// `<status><Web-Error>` when the container names an error page that exists, else a plain fault.
    func errorPage(_ call: SwiftCall, _ info: ContainerInfo, status: HTTPResponse.Status) async throws -> Response {
        guard let page = info.metadata[Self.error],
            let stored = try await api.read(call.path.account, info.name, "\(status.code)\(page)")
        else { throw APIError(status, status.reasonPhrase) }
        let content = try await api.content(stored, account: call.path.account, manifest: false)
        let body = call.method == .head ? ResponseBody() : BodyPart.body(content.parts)
        return Response(
            status: status,
            headers: [.contentType: stored.metadata.contentType, .contentLength: String(content.length)],
            body: body)
    }

    static func listing(_ items: [ListingItem<ObjectEntry>], title: String, prefix: String, css: String?) -> Response {
        let escape = ListingRenderer.escape
        let depth = prefix.split(separator: "/").count
        var html =
            "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01 Transitional//EN\" "
            + "\"http://www.w3.org/TR/html4/loose.dtd\">\n<html>\n <head>\n"
            + "  <title>Listing of \(escape(title))</title>\n"
        if let css {
            let href = css.hasPrefix("/") || css.contains("://") ? css : String(repeating: "../", count: depth) + css
            html += "  <link rel=\"stylesheet\" type=\"text/css\" href=\"\(escape(href))\" />\n"
        }
        html +=
            " </head>\n <body>\n  <h1 id=\"title\">Listing of \(escape(title))</h1>\n  <table id=\"listing\">\n"
            + "   <tr id=\"heading\"><th class=\"colname\">Name</th><th class=\"colsize\">Size</th>"
            + "<th class=\"coldate\">Date</th></tr>\n"
        if !prefix.isEmpty {
            html +=
                "   <tr id=\"parent\" class=\"item\"><td class=\"colname\"><a href=\"../\">../</a></td>"
                + "<td class=\"colsize\">&nbsp;</td><td class=\"coldate\">&nbsp;</td></tr>\n"
        }
        for item in items {
            switch item {
            case .subdir(let name):
                let short = escape(String(name.dropFirst(prefix.count)))
                html +=
                    "   <tr class=\"item subdir\"><td class=\"colname\"><a href=\"\(short)\">\(short)</a></td>"
                    + "<td class=\"colsize\">&nbsp;</td><td class=\"coldate\">&nbsp;</td></tr>\n"
            case .entry(let entry):
                let short = escape(String(entry.name.dropFirst(prefix.count)))
                html +=
                    "   <tr class=\"item\"><td class=\"colname\"><a href=\"\(short)\">\(short)</a></td>"
                    + "<td class=\"colsize\">\(entry.size)</td>"
                    + "<td class=\"coldate\">\(SwiftHeaders.listingDate(entry.timestamp))</td></tr>\n"
            }
        }
        html += "  </table>\n </body>\n</html>\n"
        return Response(
            status: .ok, headers: [.contentType: "text/html; charset=UTF-8"],
            body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}
