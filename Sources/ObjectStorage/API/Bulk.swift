import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import StratusCore

/// Swift's bulk middleware: `?bulk-delete` (a newline-separated list of `<container>/<object>`
/// and `<container>` paths, objects first) and `?extract-archive=tar` (each file of a tar
/// archive becomes an object, its first path component the container under an account).
/// Both answer 200 with the outcome in the body, as Swift does.
struct Bulk {
    let api: SwiftAPI

    static let maxDeletes = 10_000
    /// The largest file of an archive (files are held in memory while they are stored).
    static let maxArchivedFile = 64 * 1024 * 1024

    func delete(_ call: SwiftCall) async throws -> Response {
        let text = String(buffer: try await call.request.body.collect(upTo: 4 << 20))
        let paths = text.split(whereSeparator: \.isNewline).map { line in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            return (trimmed.removingPercentEncoding ?? trimmed).trimmingCharacters(in: ["/"])
        }.filter { !$0.isEmpty }
        guard paths.count <= Self.maxDeletes else {
            throw APIError(.contentTooLarge, "Maximum Bulk Deletes: \(Self.maxDeletes) per request")
        }
        var result = BulkResult(deleted: 0, notFound: 0, errors: [])
        for path in paths {
            guard !VersionNames.isReserved(path) else {
                result.errors.append((path, "412 Precondition Failed"))
                continue
            }
            let parts = path.split(separator: "/", maxSplits: 1).map(String.init)
            let container = parts[0]
            guard let info = try await api.listings.container(call.path.account, container) else {
                result.notFound += 1
                continue
            }
            guard parts.count == 2 ? api.canWrite(call, info) : call.level >= .readWrite else {
                result.errors.append((path, "403 Forbidden"))
                continue
            }
            if parts.count == 2 {
                guard try await api.read(call.path.account, container, parts[1]) != nil else {
                    result.notFound += 1
                    continue
                }
                try await api.remove(call.path.account, container, parts[1])
            } else {
                do {
                    try await api.listings.deleteContainer(call.path.account, container)
                } catch ListingStoreError.containerNotEmpty {
                    result.errors.append((path, "409 Conflict"))
                    continue
                } catch ListingStoreError.containerNotFound {
                    result.notFound += 1
                    continue
                }
            }
            result.deleted += 1
        }
        return result.response(call.request)
    }

    /// `PUT [/<container>[/<prefix>]]?extract-archive=tar`.
    func extract(_ call: SwiftCall) async throws -> Response {
        guard let format = call.request.formQuery("extract-archive"), format == "tar" || format.isEmpty else {
            throw APIError.badRequest("Unsupported archive format: only uncompressed tar is extracted")
        }
        var reader = TarReader(body: call.request.body.makeAsyncIterator())
        var created = 0
        var errors: [(name: String, status: String)] = []
        while let (name, bytes) = try await reader.next(maxFile: Self.maxArchivedFile) {
            var full = name
            if let container = call.path.container {
                full = container + "/" + (call.path.object.map { $0 + "/" } ?? "") + name
            }
            let parts = full.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[1].isEmpty else { continue }
            do {
                try await store(call, container: parts[0], object: parts[1], bytes: bytes)
                created += 1
            } catch let error as APIError {
                errors.append(("/" + full, "\(error.status.code) \(error.status.reasonPhrase)"))
            }
        }
        let status = errors.isEmpty ? "201 Created" : "400 Bad Request"
        let lines = errors.map { "\($0.name), \($0.status)" }.joined(separator: "\n")
        let body = "Number Files Created: \(created)\nResponse Body: \nResponse Status: \(status)\nErrors: \(lines)\n"
        return Response(
            status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    private func store(_ call: SwiftCall, container: String, object: String, bytes: ByteBuffer) async throws {
        try SwiftPath(account: call.path.account, container: container, object: object).validate()
        var info = try await api.listings.container(call.path.account, container)
        if info == nil {
            guard call.level >= .readWrite else { throw call.denied }
            _ = try await api.listings.putContainer(
                call.path.account, container, metadata: [:], policy: api.settings.policyName)
            info = try await api.listings.container(call.path.account, container)
        }
        guard let info, api.canWrite(call, info) else { throw call.denied }
        try api.checkQuotas(call, info, adding: Int64(bytes.readableBytes))
        let metadata = ObjectMetadata(
            name: "/\(call.path.account)/\(container)/\(object)", timestamp: SwiftTimestamp.now(),
            contentType: MediaTypes.guess(object))
        _ = try await api.store(
            call.path.account, container, object, metadata: metadata, expectedETag: nil,
            body: PartsSequence(parts: [.bytes(bytes)]))
    }
}

/// Regular files of a tar stream (ustar, with PAX `path` records and GNU long names).
struct TarReader<Body: AsyncIteratorProtocol> where Body.Element == ByteBuffer {
    var body: Body
    var buffer = ByteBuffer()
    var ended = false

    static var malformed: APIError { APIError.badRequest("Invalid Tar File: the archive is malformed") }

    /// The next regular file's path and bytes; nil at the end of the archive.
    mutating func next(maxFile: Int) async throws -> (String, ByteBuffer)? {
        var longName: String?
        while !ended {
            guard let header = try await read(512) else { return nil }
            guard header.readableBytesView.contains(where: { $0 != 0 }) else {
                ended = true
                return nil
            }
            func field(_ offset: Int, _ length: Int) -> String {
                let bytes = header.getBytes(at: header.readerIndex + offset, length: length) ?? []
                return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let size = Int(field(124, 12).trimmingCharacters(in: .whitespaces), radix: 8) else {
                throw Self.malformed
            }
            let type = field(156, 1)
            let prefix = field(345, 155)
            var name = longName ?? (prefix.isEmpty ? field(0, 100) : prefix + "/" + field(0, 100))
            longName = nil
            guard size <= maxFile else { throw APIError(.contentTooLarge, "\(name) is larger than \(maxFile) bytes") }
            guard let data = try await read(size) else { throw Self.malformed }
            _ = try await read((512 - size % 512) % 512)
            switch type {
            case "x":
                for record in String(buffer: data).split(separator: "\n") where record.contains(" path=") {
                    longName = String(record[record.index(after: record.firstIndex(of: "=") ?? record.startIndex)...])
                }
            case "L":
                longName = String(String(buffer: data).prefix { $0 != "\0" })
            case "0", "", "7":
                while name.hasPrefix("./") { name.removeFirst(2) }
                return (name, data)
            default:
                continue  // directories, links, global PAX headers
            }
        }
        return nil
    }

    /// Exactly `count` bytes, nil when the stream ends first.
    mutating func read(_ count: Int) async throws -> ByteBuffer? {
        while buffer.readableBytes < count {
            guard var more = try await body.next() else { return nil }
            buffer.writeBuffer(&more)
        }
        return buffer.readSlice(length: count)
    }
}
