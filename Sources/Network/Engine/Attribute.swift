import StratusCore

/// How an attribute is kept in its resource's table.
enum ColumnType: Sendable {
    case text, bool, int
    /// Lists and maps, serialized as JSON text.
    case json
    /// Not a column: computed when records are expanded (`ResourceHooks.expand`).
    case virtual

    /// The record table's column type (virtual attributes have none).
    var storedAs: RecordColumn.Kind {
        switch self {
        case .text, .virtual: return .text
        case .bool: return .bool
        case .int: return .int
        case .json: return .json
        }
    }
}

/// One attribute of a resource, after neutron-lib's attribute maps: whether clients may
/// set it on create and update, its default, how input is checked and converted, and
/// which policy rules guard reading and writing it.
struct Attribute: Sendable {
    let name: String
    var column: ColumnType
    var allowPost = true
    var allowPut = true
    var required = false
    /// Value when a create request leaves the attribute out (nil: the hooks set it, or null).
    var defaultValue: JSON?
    /// Checks and normalizes client input; throws a 400 naming the problem.
    var convert: @Sendable (JSON) throws -> JSON = { $0 }
    /// Rule guarding reading the attribute (e.g. provider attributes are admin-only).
    var readRule: String?
    /// Rule guarding setting the attribute on create and update.
    var writeRule: String?
    /// Whether `?name=value` may filter on it.
    var filterable = true
    var sortable = true

    init(
        _ name: String, _ column: ColumnType, post: Bool = true, put: Bool = true, required: Bool = false,
        default defaultValue: JSON? = nil, readRule: String? = nil, writeRule: String? = nil,
        filterable: Bool = true, sortable: Bool = true,
        convert: @escaping @Sendable (JSON) throws -> JSON = { $0 }
    ) {
        self.name = name
        self.column = column
        self.allowPost = post
        self.allowPut = put
        self.required = required
        self.defaultValue = defaultValue
        self.readRule = readRule
        self.writeRule = writeRule
        self.filterable = filterable && column != .json
        self.sortable = sortable && column != .json && column != .virtual
        self.convert = convert
    }

    /// The SQL column name: `router:external` is kept as `router_external`.
    var columnName: String { Self.columnName(name) }

    static func columnName(_ name: String) -> String {
        String(name.map { $0 == ":" ? "_" : $0 })
    }
}

/// The attributes every Neutron resource has (standard attributes).
enum StandardAttributes {
    static let id = Attribute("id", .text, post: false, put: false)
    static let projectID = Attribute("project_id", .text, put: false, convert: Validate.string(255))
    static let name = Attribute("name", .text, default: "", convert: Validate.string(255))
    static let description = Attribute("description", .text, default: "", convert: Validate.string(255))
    static let createdAt = Attribute("created_at", .text, post: false, put: false)
    static let updatedAt = Attribute("updated_at", .text, post: false, put: false)
    static let revision = Attribute("revision_number", .int, post: false, put: false)
    static let tags = Attribute("tags", .virtual, post: true, put: false, filterable: false, convert: Validate.tags)

    /// Attributes of resources with the full standard set.
    static let all: [Attribute] = [id, projectID, name, description, createdAt, updatedAt, revision, tags]
}
