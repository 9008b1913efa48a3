import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import X509
import XCTest

@testable import StratusCore

/// A service of one route that answers with the base URL links would use.
private struct EchoService: StratusService {
    let name = "echo"
    let port: Int

    func makeRouter() -> Router<StratusContext> {
        let router = Router(context: StratusContext.self)
        router.add(middleware: FaultMiddleware(style: .compute))
        router.get("/base") { request, _ in request.baseURL }
        // 3 MiB in 256 KiB chunks: a body the connection's backlog paces.
        router.get("/big") { _, _ in
            Response(
                status: .ok,
                body: ResponseBody(contentLength: 3 << 20) { writer in
                    for _ in 0..<12 { try await writer.write(ByteBuffer(repeating: 7, count: 256 << 10)) }
                    try await writer.finish(nil)
                })
        }
        router.post("/json") { request, context in
            let body = try await request.jsonObject(context: context)
            return "\(body.count)"
        }
        return router
    }
}

final class CloudCertificatesTests: XCTestCase {
    func testTheServerCertificateNamesItsHostsAndChainsToTheCloudCA() throws {
        let dir = try temporaryDirectory()
        let certificates = CloudCertificates(dataDir: dir)
        try certificates.ensure(publicHost: "cloud.example")
        let ca = try Certificate(pemEncoded: String(contentsOfFile: certificates.caFile, encoding: .utf8))
        let server = try Certificate(pemEncoded: String(contentsOfFile: certificates.certificateFile, encoding: .utf8))
        XCTAssertEqual(server.issuer, ca.subject)
        XCTAssertTrue(ca.publicKey.isValidSignature(server.signature, for: server))
        let names = try XCTUnwrap(server.extensions.subjectAlternativeNames).map { "\($0)" }
        XCTAssertTrue(names.contains { $0.contains("cloud.example") }, "\(names)")
        XCTAssertTrue(names.contains { $0.contains("localhost") }, "\(names)")
        XCTAssertEqual(try server.extensions.basicConstraints, .notCertificateAuthority)
        let keyMode = try FileManager.default.attributesOfItem(atPath: certificates.keyFile)[.posixPermissions] as? Int
        XCTAssertEqual(keyMode, 0o600)

        // Kept while the host stays; a new host gets a new server certificate from the same CA.
        try certificates.ensure(publicHost: "cloud.example")
        let again = try Certificate(pemEncoded: String(contentsOfFile: certificates.certificateFile, encoding: .utf8))
        XCTAssertEqual(again.serialNumber, server.serialNumber)
        try certificates.ensure(publicHost: "10.0.0.5")
        let moved = try Certificate(pemEncoded: String(contentsOfFile: certificates.certificateFile, encoding: .utf8))
        XCTAssertNotEqual(moved.serialNumber, server.serialNumber)
        XCTAssertEqual(moved.issuer, ca.subject)
        XCTAssertEqual(CloudCertificates.addressBytes("10.0.0.5"), [10, 0, 0, 5])
        XCTAssertEqual(CloudCertificates.addressBytes("::1")?.count, 16)
        XCTAssertNil(CloudCertificates.addressBytes("cloud.example"))
    }

    func testListenerTLSPrefersTheServicesOwnFiles() {
        let config = Config(values: [
            "DEFAULT": ["ssl_cert_file": "/c.pem", "ssl_key_file": "/k.pem"], "image": ["ssl_cert_file": "/i.pem"],
        ])
        let tls = ListenerTLS(config: config)
        XCTAssertEqual(tls.files(service: "compute")?.certificate, "/c.pem")
        XCTAssertEqual(tls.files(service: "compute")?.key, "/k.pem")
        XCTAssertEqual(tls.files(service: "image")?.certificate, "/i.pem")
        XCTAssertEqual(tls.scheme(service: "image"), "https")
        XCTAssertEqual(ListenerTLS(config: Config()).scheme(service: "image"), "http")
    }
}

final class RequestLimitsTests: XCTestCase {
    private func request(_ fields: HTTPFields) -> Request {
        Request(
            head: HTTPRequest(method: .post, scheme: "http", authority: "h", path: "/", headerFields: fields),
            body: .init(buffer: ByteBuffer()))
    }

    private func status(_ fields: HTTPFields, _ limits: RequestLimits = .init()) -> HTTPResponse.Status? {
        do {
            try limits.check(request(fields))
            return nil
        } catch {
            return (error as? APIError)?.status
        }
    }

    func testHeaderCountLineLengthAndJSONBodySize() {
        XCTAssertNil(status([.contentType: "application/json", .contentLength: "114688"]))
        XCTAssertEqual(status([.contentType: "application/json", .contentLength: "114689"]), .contentTooLarge)
        XCTAssertEqual(status([.contentLength: "200000"]), .contentTooLarge, "no type: read as JSON")
        XCTAssertNil(
            status([.contentType: "application/octet-stream", .contentLength: "1073741824"]), "streamed data")
        XCTAssertEqual(
            status([.contentType: "application/openstack-images-v2.1-json-patch", .contentLength: "200000"]),
            .contentTooLarge)
        var many = HTTPFields()
        for index in 0..<101 { many.append(HTTPField(name: HTTPField.Name("X-H\(index)")!, value: "v")) }
        XCTAssertEqual(status(many), .badRequest)
        XCTAssertEqual(status([.userAgent: String(repeating: "a", count: 16_384)]), .badRequest)
        XCTAssertNil(status([.userAgent: String(repeating: "a", count: 16_000)]))
        XCTAssertNil(status(many, RequestLimits(headerCount: 200)))
    }

    func testClientConnectionsCountPerAddress() {
        let connections = ClientConnections(limit: 2)
        XCTAssertTrue(connections.open("10.0.0.1"))
        XCTAssertTrue(connections.open("10.0.0.1"))
        XCTAssertFalse(connections.open("10.0.0.1"))
        XCTAssertTrue(connections.open("10.0.0.2"))
        connections.close("10.0.0.1")
        XCTAssertTrue(connections.open("10.0.0.1"))
    }
}

final class ServiceHostListenerTests: XCTestCase {
    /// HTTPS with the cloud's own CA: links say https, peers trusting the CA get through,
    /// a JSON body over the listener's limit gets the service's 413, and a client that never
    /// finishes its request head is disconnected after the header timeout.
    func testHTTPSLimitsAndSlowClients() async throws {
        let dir = try temporaryDirectory()
        let certificates = CloudCertificates(dataDir: dir)
        try certificates.ensure(publicHost: "127.0.0.1")
        let port = try await freePort()
        let config = Config(values: [
            "DEFAULT": ["ssl_cert_file": certificates.certificateFile, "ssl_key_file": certificates.keyFile]
        ])
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let host = ServiceHost(
            services: [EchoService(port: port)], bindHost: "127.0.0.1", tls: ListenerTLS(config: config),
            requestLimits: RequestLimits(bodySize: 1000),
            connectionLimits: ConnectionLimits(headerTimeout: .milliseconds(500), perClient: 8), logger: logger)
        let running = Task { try await host.run() }
        defer { running.cancel() }
        try PeerHTTP.trust(caFile: certificates.caFile)

        let base = "https://127.0.0.1:\(port)"
        let reply = try await get(base + "/base")
        XCTAssertEqual(reply, base)

        // A paced body keeps its length (no chunked encoding) and arrives whole.
        let big = try await PeerHTTP.client.execute(HTTPClientRequest(url: base + "/big"), timeout: .seconds(30))
        XCTAssertEqual(big.headers.first(name: "Content-Length"), "\(3 << 20)")
        let received = try await big.body.collect(upTo: 4 << 20)
        XCTAssertEqual(received.readableBytes, 3 << 20)

        var large = HTTPClientRequest(url: base + "/json")
        large.method = .POST
        large.headers.add(name: "Content-Type", value: "application/json")
        large.body = .bytes(ByteBuffer(string: "{\"a\": \"" + String(repeating: "x", count: 2000) + "\"}"))
        let refused = try await PeerHTTP.client.execute(large, timeout: .seconds(10))
        XCTAssertEqual(refused.status.code, 413)
        let fault = String(buffer: try await refused.body.collect(upTo: 1 << 16))
        XCTAssertTrue(fault.contains("overLimit"), fault)

        // A raw client that sends half a request head and then nothing is closed.
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port).get()
        try await channel.writeAndFlush(ByteBuffer(string: "\u{16}\u{03}\u{01}")).get()
        let started = ContinuousClock.now
        try await channel.closeFuture.get()
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(5))
    }

    private func get(_ url: String) async throws -> String {
        for attempt in 0..<50 {
            do {
                let response = try await PeerHTTP.client.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
                return String(buffer: try await response.body.collect(upTo: 1 << 16))
            } catch  where attempt < 49 {
                try await Task.sleep(for: .milliseconds(100))  // the listener is still starting
            }
        }
        throw CancellationError()
    }
}

private func temporaryDirectory() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-tls-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

private func freePort() async throws -> Int {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .bind(host: "127.0.0.1", port: 0).get()
    let port = channel.localAddress?.port ?? 0
    try await channel.close()
    return port
}
