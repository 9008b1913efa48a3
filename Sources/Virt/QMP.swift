import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One command over a QEMU Machine Protocol socket: connect, leave capability negotiation,
/// execute, return the `return` member (events in between are skipped).
enum QMP {
    static func execute(socket path: String, _ command: String, arguments: [String: Any]? = nil) throws -> Any {
        #if canImport(Glibc)
            let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw DriverError("QMP: no socket") }
            defer { close(fd) }
            var timeout = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw DriverError("QMP socket path too long: \(path)") }
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (i, byte) in bytes.enumerated() { raw[i] = byte }
            }
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard connected == 0 else { throw DriverError("QMP: cannot connect to \(path)") }
            var reader = LineReader(fd: fd)
            _ = try reader.next()  // greeting
            try send(fd, ["execute": "qmp_capabilities"])
            _ = try reply(&reader)
            var message: [String: Any] = ["execute": command]
            if let arguments { message["arguments"] = arguments }
            try send(fd, message)
            return try reply(&reader)
        #else
            throw DriverError("QMP needs Linux")
        #endif
    }

    #if canImport(Glibc)
        private static func send(_ fd: Int32, _ message: [String: Any]) throws {
            var data = try JSONSerialization.data(withJSONObject: message)
            data.append(0x0A)
            let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard written == data.count else { throw DriverError("QMP: write failed") }
        }

        private static func reply(_ reader: inout LineReader) throws -> Any {
            while true {
                let line = try reader.next()
                guard let object = try JSONSerialization.jsonObject(with: line) as? [String: Any] else { continue }
                if let error = object["error"] as? [String: Any] { throw DriverError("QMP: \(error["desc"] ?? error)") }
                if let value = object["return"] { return value }
            }
        }

        private struct LineReader {
            let fd: Int32
            var buffer = Data()

            init(fd: Int32) { self.fd = fd }

            mutating func next() throws -> Data {
                while true {
                    if let newline = buffer.firstIndex(of: 0x0A) {
                        let line = buffer[buffer.startIndex..<newline]
                        buffer = Data(buffer[(newline + 1)...])
                        return Data(line)
                    }
                    var chunk = [UInt8](repeating: 0, count: 4096)
                    let count = read(fd, &chunk, chunk.count)
                    guard count > 0 else { throw DriverError("QMP: connection closed") }
                    buffer.append(contentsOf: chunk[0..<count])
                }
            }
        }
    #endif
}
