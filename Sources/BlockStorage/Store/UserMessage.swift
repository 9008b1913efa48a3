import Foundation
import SQLKit
import StratusCore

/// What went wrong with an asynchronous request, told to the project that made it
/// (Cinder's user messages), kept for `lifetime` seconds.
struct UserMessage: StoredRow {
    static let table = "messages"
    static let columns = [
        "id", "project_id", "request_id", "resource_type", "resource_uuid", "event_id", "message_level",
        "user_message", "created_at", "expires_at",
    ]
    static let lifetime: TimeInterval = 2_592_000

    /// Cinder's event ids and their texts.
    enum Event: String {
        case noValidBackend = "VOLUME_VOL_001_002"
        case createFailed = "VOLUME_VOL_001_003"

        var text: String {
            switch self {
            case .noValidBackend: return "schedule allocate volume:Could not find any available weighted backend."
            case .createFailed: return "create volume:An unknown error occurred."
            }
        }
    }

    var id: String
    var projectID: String
    var requestID: String
    var resourceType: String
    var resourceID: String?
    var eventID: String
    var level: String
    var text: String
    var createdAt: Date
    var expiresAt: Date

    init(volume: Volume, event: Event, requestID: String?) {
        id = UUID().uuidString.lowercased()
        projectID = volume.projectID
        self.requestID = requestID ?? "req-\(UUID().uuidString.lowercased())"
        resourceType = "VOLUME"
        resourceID = volume.id
        eventID = event.rawValue
        level = "ERROR"
        text = event.text
        createdAt = Date()
        expiresAt = createdAt.addingTimeInterval(Self.lifetime)
    }

    init(row: any SQLRow) throws {
        id = try row.decode(column: "id", as: String.self)
        projectID = try row.decode(column: "project_id", as: String.self)
        requestID = try row.decode(column: "request_id", as: String.self)
        resourceType = try row.decode(column: "resource_type", as: String.self)
        resourceID = try row.decode(column: "resource_uuid", as: String?.self)
        eventID = try row.decode(column: "event_id", as: String.self)
        level = try row.decode(column: "message_level", as: String.self)
        text = try row.decode(column: "user_message", as: String.self)
        createdAt = Date(timeIntervalSince1970: try row.decode(column: "created_at", as: Double.self))
        expiresAt = Date(timeIntervalSince1970: try row.decode(column: "expires_at", as: Double.self))
    }

    var values: [any Encodable & Sendable] {
        [
            id, projectID, requestID, resourceType, resourceID, eventID, level, text, createdAt.timeIntervalSince1970,
            expiresAt.timeIntervalSince1970,
        ]
    }
}
