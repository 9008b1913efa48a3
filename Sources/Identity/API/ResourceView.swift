import Hummingbird
import StratusCore

/// Members a kind's view shows differently from its record: a value replaces the member of that
/// name (or adds it), nil leaves it out. `links` may be replaced too.
typealias ViewChanges = @Sendable (_ record: Record, _ base: String) -> [(name: String, value: JSON?)]

extension ResourceKind {
    /// The API view of a record: its `extra` attributes, its fields, a self link, and the kind's
    /// changes, as an object to add to (single resources).
    func render(_ record: Record, base: String) -> [String: JSON] {
        var out: [String: JSON] = [:]
        let changed = viewChanges(record, base)
        forEachMember(of: record, changed: changed) { out[$0] = $1 }
        if !changed.contains(where: { $0.name == "links" }) {
            out["links"] = ["self": .string(selfLink(record, base: base))]
        }
        return out
    }

    /// The same view written as JSON text, for lists.
    func write(_ record: Record, base: String, to out: inout JSONWriter) {
        let changed = viewChanges(record, base)
        out.object { object in
            forEachMember(of: record, changed: changed) { object.field($0, $1) }
            if !changed.contains(where: { $0.name == "links" }) {
                object.key("links")
                object.object { $0.field("self", selfLink(record, base: base)) }
            }
        }
    }

    /// `{"<plural>": [...], "links": {...}}`, streamed as it is written (`Response.jsonList`).
    func collection(_ records: [Record], request: Request) -> Response {
        let base = baseURL(request)
        var link = "\(base)\(request.uri.path)"
        if let query = request.uri.query, !query.isEmpty { link += "?\(query)" }
        let selfLink = link
        return Response.jsonList(
            plural, records, element: { record, list in write(record, base: base, to: &list) },
            after: { body in
                body.key("links")
                body.object { links in
                    links.field("self", selfLink)
                    links.field("previous", JSON.null)
                    links.field("next", JSON.null)
                }
            })
    }

    private func selfLink(_ record: Record, base: String) -> String {
        "\(base)\(path)/\(record["id"]?.stringValue ?? "")"
    }

    /// Every member but the default self link, in the order a list writes them.
    private func forEachMember(
        of record: Record, changed: [(name: String, value: JSON?)], _ body: (String, JSON) -> Void
    ) {
        func isChanged(_ name: String) -> Bool { changed.contains { $0.name == name } }
        if let extra = record["extra"]?.objectValue {
            for (key, value) in extra
            where key != "links" && !isChanged(key) && !columns.contains(where: { $0.field == key }) {
                body(key, value)
            }
        }
        for column in columns {
            guard let field = column.field, !isChanged(field) else { continue }
            body(field, record[column.name] ?? .null)
        }
        for case (let name, let value?) in changed { body(name, value) }
    }
}
