import Foundation
import Hummingbird
import StratusCore

/// How a listing is answered: `format=json|xml|plain` or the `Accept` header.
enum ListingFormat: Sendable {
    case plain, json, xml

    init(_ request: Request) throws {
        if let format = request.formQuery("format")?.lowercased() {
            switch format {
            case "json": self = .json
            case "xml": self = .xml
            case "plain", "text": self = .plain
            default: self = .plain
            }
            return
        }
        let accept = request.headers[.accept]?.lowercased() ?? ""
        if accept.contains("application/json") {
            self = .json
        } else if accept.contains("application/xml") || accept.contains("text/xml") {
            self = .xml
        } else {
            self = .plain
        }
    }

    var contentType: String {
        switch self {
        case .plain: return "text/plain; charset=utf-8"
        case .json: return "application/json; charset=utf-8"
        case .xml: return "application/xml; charset=utf-8"
        }
    }
}

extension ListingQuery {
    static let maxLimit = 10_000

    /// The listing parameters of a GET; 412 for a bad limit or delimiter, as Swift answers.
    init(_ request: Request) throws {
        self.init()
        marker = request.formQuery("marker") ?? ""
        endMarker = request.formQuery("end_marker") ?? ""
        prefix = request.formQuery("prefix") ?? ""
        if let delimiter = request.formQuery("delimiter"), !delimiter.isEmpty {
            guard delimiter.count == 1 else { throw APIError(.preconditionFailed, "Bad delimiter") }
            self.delimiter = delimiter
        }
        if let text = request.formQuery("limit") {
            guard let limit = Int(text), limit >= 0 else {
                throw APIError(.preconditionFailed, "Value of limit must be a positive integer")
            }
            guard limit <= Self.maxLimit else {
                throw APIError(.preconditionFailed, "Maximum limit is \(Self.maxLimit)")
            }
            self.limit = limit
        }
        if let path = request.formQuery("path") {
            prefix = path.isEmpty || path.hasSuffix("/") ? path : path + "/"
            delimiter = "/"
        }
        reverse = SwiftHeaders.isTrue(request.formQuery("reverse"))
    }
}

/// What a listing shows of one entry: its name, its JSON fields and its XML element.
protocol ListedEntry: Sendable {
    var name: String { get }
    var json: [String: JSON] { get }
    /// `<container>...</container>` or `<object>...</object>`.
    var xml: String { get }
}

extension ContainerInfo: ListedEntry {
    var json: [String: JSON] {
        [
            "name": .string(name), "count": .int(Int(objectCount)), "bytes": .int(Int(bytesUsed)),
            "last_modified": .string(SwiftHeaders.listingDate(modifiedAt)),
        ]
    }

    var xml: String {
        "<container><name>\(ListingRenderer.escape(name))</name><count>\(objectCount)</count>"
            + "<bytes>\(bytesUsed)</bytes>"
            + "<last_modified>\(SwiftHeaders.listingDate(modifiedAt))</last_modified></container>"
    }
}

extension ObjectEntry: ListedEntry {
    var json: [String: JSON] {
        var fields: [String: JSON] = [
            "name": .string(name), "hash": .string(etag), "bytes": .int(Int(size)),
            "content_type": .string(contentType), "last_modified": .string(SwiftHeaders.listingDate(timestamp)),
        ]
        if let symlink { fields["symlink_path"] = .string(symlink) }
        return fields
    }

    var xml: String {
        "<object><name>\(ListingRenderer.escape(name))</name><hash>\(etag)</hash><bytes>\(size)</bytes>"
            + "<content_type>\(ListingRenderer.escape(contentType))</content_type>"
            + "<last_modified>\(SwiftHeaders.listingDate(timestamp))</last_modified></object>"
    }
}

/// Account and container listings in Swift's three formats.
enum ListingRenderer {
    /// `root` is the XML root element (`account` or `container`) named `name`.
    static func render<Entry: ListedEntry>(
        _ items: [ListingItem<Entry>], root: String, name: String, format: ListingFormat, headers: HTTPFields
    ) -> Response {
        switch format {
        case .plain:
            return plain(
                items.map { item in
                    switch item {
                    case .entry(let entry): return entry.name
                    case .subdir(let name): return name
                    }
                }, headers: headers)
        case .json:
            let entries: [JSON] = items.map { item in
                switch item {
                case .entry(let entry): return .object(entry.json)
                case .subdir(let name): return ["subdir": .string(name)]
                }
            }
            return body(JSON.array(entries).serialized(), format: format, headers: headers)
        case .xml:
            var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<\(root) name=\"\(escape(name))\">"
            for item in items {
                switch item {
                case .entry(let entry): xml += entry.xml
                case .subdir(let name): xml += "<subdir name=\"\(escape(name))\"><name>\(escape(name))</name></subdir>"
                }
            }
            return body(xml + "</\(root)>", format: format, headers: headers)
        }
    }

    /// Names one per line; an empty plain listing is 204, as Swift's.
    static func plain(_ names: [String], headers: HTTPFields) -> Response {
        guard !names.isEmpty else {
            var headers = headers
            headers[.contentType] = ListingFormat.plain.contentType
            headers[.contentLength] = "0"
            return Response(status: .noContent, headers: headers)
        }
        return body(names.map { $0 + "\n" }.joined(), format: .plain, headers: headers)
    }

    static func body(_ text: String, format: ListingFormat, headers: HTTPFields) -> Response {
        var headers = headers
        headers[.contentType] = format.contentType
        headers[.contentLength] = nil
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: .init(string: text)))
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
