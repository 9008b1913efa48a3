import AsyncHTTPClient
import Foundation
import Hummingbird
import NIOCore
import StratusCore

/// Glance's read-only http store: image data that lives at an http(s) URL, added as an image
/// location. Reads stream from the URL; nothing is ever written or deleted there.
struct HTTPStore: DataStore {
    let id: String
    var type: String { "http" }
    var description: String { "Read-only data at http(s) URLs" }
    var isWritable: Bool { false }

    func write<Source: AsyncSequence>(
        imageID: String, from source: Source, observe: (ByteBuffer) throws -> Void
    ) async throws -> String where Source.Element == ByteBuffer {
        throw APIError.badRequest("Store \(id) is read-only.")
    }

    func read(path: String, range: ClosedRange<Int64>?) -> ResponseBody {
        ResponseBody { writer in
            var request = HTTPClientRequest(url: path)
            if let range { request.headers.add(name: "Range", value: "bytes=\(range.lowerBound)-\(range.upperBound)") }
            let response = try await PeerHTTP.client.execute(request, timeout: .hours(6))
            guard (200..<300).contains(response.status.code) else {
                throw APIError(.badGateway, "\(path) answered \(response.status.code)")
            }
            for try await chunk in response.body { try await writer.write(chunk) }
            try await writer.finish(nil)
        }
    }

    func withChunks<R>(path: String, _ body: (any AsyncSequence<ByteBuffer, any Error>) async throws -> R) async throws
        -> R
    {
        try await RemoteImage.download(path, token: nil) { chunks in try await body(chunks) }
    }

    func delete(path: String) async throws {}

    func removeIncompleteWrites() async throws {}

    func url(for path: String) -> String { path }

    /// The size of the data at `url` (HEAD's Content-Length); nil when the server does not say.
    static func size(of url: String) async throws -> Int64? {
        var request = HTTPClientRequest(url: url)
        request.method = .HEAD
        let response = try await PeerHTTP.client.execute(request, timeout: .seconds(30))
        guard (200..<300).contains(response.status.code) else {
            throw APIError.badRequest("Location \(url) is not reachable: it answered \(response.status.code).")
        }
        return response.headers.first(name: "Content-Length").flatMap { Int64($0) }
    }
}
