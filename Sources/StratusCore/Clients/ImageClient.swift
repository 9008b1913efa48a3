import Foundation
import NIOCore

/// The Image calls a service makes: images to boot, snapshots to store. `token` is the
/// caller's own where a request acts for a user; nil acts as the service user.
public protocol ImageClient: Sendable {
    /// The image as Glance shows it (its properties are free-form), or nil when it does
    /// not exist or the token may not see it.
    func image(_ id: String, token: String?) async throws -> JSON?
    /// Creates an image record from `properties`; returns its id.
    func createImage(_ properties: [String: JSON], token: String?) async throws -> String
    /// Streams the image's data to `sink`.
    func download(_ id: String, sink: (ByteBuffer) async throws -> Void) async throws
    /// Uploads a file as the image's data.
    func upload(_ id: String, file: String) async throws
    /// Deletes the image; one already gone is not an error.
    func deleteImage(_ id: String) async throws
    /// Ids of a server's backups of one type, newest first.
    func backups(of instance: String, type: String) async throws -> [String]
}

/// `ImageClient` over Glance's v2 REST API.
public struct RESTImageClient: ImageClient {
    let rest: ServiceClient

    public init(auth: ServiceAuth) {
        rest = ServiceClient(auth: auth, serviceType: "image")
    }

    public func image(_ id: String, token: String?) async throws -> JSON? {
        let reply = try await rest.get("/v2/images/\(id)", token: token)
        if reply.status == 404 || reply.status == 403 { return nil }
        return try reply.checked("image").body
    }

    public func createImage(_ properties: [String: JSON], token: String?) async throws -> String {
        let reply = try await rest.send(.POST, "/v2/images", body: .object(properties), token: token).checked("image")
        guard let id = reply.body["id"]?.stringValue else {
            let message = "The image service answered without an id."
            throw ServiceFault(service: "image", status: reply.status, message: message)
        }
        return id
    }

    public func download(_ id: String, sink: (ByteBuffer) async throws -> Void) async throws {
        let status = try await rest.download("/v2/images/\(id)/file", sink: sink)
        guard status < 300 else {
            let message = "Image \(id) could not be downloaded (HTTP \(status))."
            throw ServiceFault(service: "image", status: status, message: message)
        }
    }

    public func upload(_ id: String, file: String) async throws {
        _ = try await rest.upload("/v2/images/\(id)/file", file: file).checked("image")
    }

    public func deleteImage(_ id: String) async throws {
        let reply = try await rest.send(.DELETE, "/v2/images/\(id)")
        if reply.status != 404 { _ = try reply.checked("image") }
    }

    public func backups(of instance: String, type: String) async throws -> [String] {
        let kind = type.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? type
        let query = "instance_uuid=\(instance)&image_type=backup&backup_type=\(kind)"
            + "&sort_key=created_at&sort_dir=desc&limit=1000"
        let body = try await rest.get("/v2/images?\(query)").checked("image").body
        return (body["images"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue }
    }
}
