import Foundation

/// IP address text checks.
enum IPText {
    static func version(_ text: String) -> Int? {
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return 4 }
        if inet_pton(AF_INET6, text, &v6) == 1 { return 6 }
        return nil
    }

    static func isAddress(_ text: String) -> Bool { version(text) != nil }

    /// RFC 5952 text of an IPv6 address (`::babe:dc0c:1602`), as Nova stores access IPs.
    static func canonical(_ text: String) -> String {
        var address = in6_addr()
        guard inet_pton(AF_INET6, text, &address) == 1 else { return text }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count)) != nil else { return text }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
