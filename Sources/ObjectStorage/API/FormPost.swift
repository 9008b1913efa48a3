import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import StratusCore

/// Swift's form POST: an HTML form (`multipart/form-data`) signed with a temp URL key uploads
/// files into `<container>/<prefix><filename>` without a token. The signature is an HMAC of
/// `<path>\n<redirect>\n<max_file_size>\n<max_file_count>\n<expires>`.
struct FormPost {
    let api: SwiftAPI

    /// The largest form read (its files are held in memory while they are stored).
    static let maxForm = 64 * 1024 * 1024

    static func applies(_ request: Request) -> Bool {
        request.method == .post && request.headers[.contentType]?.lowercased().hasPrefix("multipart/form-data") == true
    }

    func handle(_ call: SwiftCall) async throws -> Response {
        guard let container = call.path.container,
            let type = call.request.headers[.contentType], let boundary = Self.boundary(type)
        else { throw APIError.badRequest("FormPost: invalid request") }
        let body = try await call.request.body.collect(upTo: Self.maxForm)
        var fields: [String: String] = [:]
        var files: [(name: String, type: String, bytes: ByteBuffer)] = []
        for part in Self.parts(body, boundary: boundary) {
            guard let name = part.parameter("name") else { continue }
            if let filename = part.parameter("filename") {
                if !filename.isEmpty {
                    files.append((filename, part.contentType ?? "application/octet-stream", part.body))
                }
            } else {
                fields[name] = String(buffer: part.body)
            }
        }
        guard let expiresText = fields["expires"], let expires = Double(expiresText),
            expires > Date().timeIntervalSince1970
        else { throw APIError.unauthorized("FormPost: Form Expired") }
        let redirect = fields["redirect"] ?? ""
        let maxSize = Int(fields["max_file_size"] ?? "") ?? 0
        let maxCount = Int(fields["max_file_count"] ?? "") ?? 0
        let path = "/v1/\(call.path.account)/\(container)" + (call.path.object.map { "/" + $0 } ?? "")
        let message =
            "\(path)\n\(redirect)\n\(fields["max_file_size"] ?? "")\n\(fields["max_file_count"] ?? "")\n"
            + expiresText
        guard let signature = fields["signature"],
            try await TempURL.keys(call, container: container, api: api).contains(where: {
                TempURL.matches(signature, key: $0, message: message)
            })
        else { throw APIError.unauthorized("FormPost: Invalid Signature") }
        guard files.count <= maxCount else { throw APIError.badRequest("FormPost: max_file_count exceeded") }
        guard let info = try await api.listings.container(call.path.account, container) else {
            throw APIError.notFound("Not Found")
        }
        for file in files {
            guard file.bytes.readableBytes <= maxSize else {
                throw APIError.badRequest("FormPost: max_file_size exceeded")
            }
            let name = (call.path.object ?? "") + file.name
            try SwiftPath(account: call.path.account, container: container, object: name).validate()
            try api.checkQuotas(call, info, adding: Int64(file.bytes.readableBytes))
            let metadata = ObjectMetadata(
                name: "/\(call.path.account)/\(container)/\(name)", timestamp: SwiftTimestamp.now(),
                contentType: file.type)
            _ = try await api.write(
                call, info, name, metadata: metadata, expectedETag: nil,
                body: PartsSequence(parts: [.bytes(file.bytes)]))
        }
        if !redirect.isEmpty {
            let separator = redirect.contains("?") ? "&" : "?"
            return Response(status: .seeOther, headers: [.location: redirect + separator + "status=201&message="])
        }
        return Response(
            status: .created, headers: [.contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: "201 Created\n")))
    }

    static func boundary(_ contentType: String) -> String? {
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pair = parameter.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if pair.count == 2, pair[0].lowercased() == "boundary" {
                return pair[1].trimmingCharacters(in: ["\""])
            }
        }
        return nil
    }

    /// One part of a multipart body: its headers and bytes.
    struct Part {
        var headers: [String: String]
        var body: ByteBuffer

        var contentType: String? { headers["content-type"] }

        /// A parameter of `Content-Disposition` (`name`, `filename`).
        func parameter(_ name: String) -> String? {
            guard let disposition = headers["content-disposition"] else { return nil }
            for item in disposition.split(separator: ";").dropFirst() {
                let pair = item.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if pair.count == 2, pair[0] == name { return pair[1].trimmingCharacters(in: ["\""]) }
            }
            return nil
        }
    }

    /// The parts of `body`; their bytes are slices of it, not copies.
    static func parts(_ body: ByteBuffer, boundary: String) -> [Part] {
        let bytes = body.readableBytesView
        let delimiter = Array(("--" + boundary).utf8)
        var parts: [Part] = []
        var starts: [Int] = []
        var index = bytes.startIndex
        while let found = find(delimiter, in: bytes, from: index) {
            starts.append(found)
            index = found + delimiter.count
        }
        for (start, end) in zip(starts, starts.dropFirst()) {
            var from = start + delimiter.count
            if bytes[from..<min(from + 2, bytes.endIndex)].elementsEqual([13, 10]) { from += 2 }
            guard let split = find(Array("\r\n\r\n".utf8), in: bytes, from: from), split < end else { continue }
            var headers: [String: String] = [:]
            for line in String(decoding: bytes[from..<split], as: UTF8.self).components(separatedBy: "\r\n") {
                let pair = line.split(separator: ":", maxSplits: 1)
                if pair.count == 2 {
                    headers[pair[0].lowercased()] = pair[1].trimmingCharacters(in: .whitespaces)
                }
            }
            var stop = end
            if stop >= bytes.startIndex + 2, bytes[(stop - 2)..<stop].elementsEqual([13, 10]) { stop -= 2 }
            let slice = body.getSlice(at: split + 4, length: max(0, stop - split - 4)) ?? ByteBuffer()
            parts.append(Part(headers: headers, body: slice))
        }
        return parts
    }

    static func find(_ needle: [UInt8], in haystack: ByteBufferView, from: Int) -> Int? {
        guard !needle.isEmpty, from <= haystack.endIndex - needle.count else { return nil }
        var index = from
        while index <= haystack.endIndex - needle.count {
            if haystack[index] == needle[0], haystack[index..<(index + needle.count)].elementsEqual(needle) {
                return index
            }
            index += 1
        }
        return nil
    }
}
