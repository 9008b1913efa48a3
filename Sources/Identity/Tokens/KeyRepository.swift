import Foundation
import Synchronization

/// Fernet keys in a directory, Keystone's layout: file `0` is the staged key, the highest
/// number is the primary (signs new tokens), the others still validate. Rotation promotes
/// the staged key, stages a new one and prunes the oldest beyond `maxActiveKeys`.
final class KeyRepository: Sendable {
    let directory: String
    let maxActiveKeys: Int
    private let keys = Mutex<[FernetKey]>([])
    private let lastReload = Mutex<Date>(.distantPast)

    init(directory: String, maxActiveKeys: Int = 3) throws {
        self.directory = directory
        self.maxActiveKeys = max(maxActiveKeys, 2)
        try setUp()
        try reload()
    }

    /// The primary key first, then the others from newest to oldest.
    var activeKeys: [FernetKey] { keys.withLock { $0 } }

    private func setUp() throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        if try numberedKeys().isEmpty {
            try write(key: FernetKey.generateEncoded(), number: 0)
            try rotate()
        }
    }

    private func numberedKeys() throws -> [Int] {
        try FileManager.default.contentsOfDirectory(atPath: directory).compactMap { Int($0) }.sorted()
    }

    private func write(key: String, number: Int) throws {
        let path = "\(directory)/\(number)"
        let tmp = path + ".tmp"
        _ = FileManager.default.createFile(atPath: tmp, contents: Data(key.utf8), attributes: [.posixPermissions: 0o600])
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        try FileManager.default.moveItem(atPath: tmp, toPath: path)
    }

    func reload() throws {
        var loaded: [FernetKey] = []
        let numbers = try numberedKeys()
        // Primary (highest) first, staged key (0) last: it may sign tokens once another process rotates.
        for number in numbers.filter({ $0 != 0 }).reversed() + numbers.filter({ $0 == 0 }) {
            let text = try String(contentsOfFile: "\(directory)/\(number)", encoding: .utf8)
            guard let key = FernetKey(encoded: text) else { throw ConfigErrorKeys.badKey("\(directory)/\(number)") }
            loaded.append(key)
        }
        keys.withLock { $0 = loaded }
    }

    /// Re-reads the directory at most once a second: another process (`stratus manage
    /// fernet-rotate`, another API server) may have rotated, and a token signed with a key
    /// this process has not seen yet must still validate.
    func reloadIfStale() -> Bool {
        let now = Date()
        let due = lastReload.withLock { last in
            guard now.timeIntervalSince(last) >= 1 else { return false }
            last = now
            return true
        }
        guard due else { return false }
        // A directory caught mid-rotation keeps the keys already loaded; the next second retries.
        return (try? reload()) != nil
    }

    /// Promotes the staged key to primary, stages a fresh key and drops the oldest.
    func rotate() throws {
        var numbers = try numberedKeys()
        let next = (numbers.last ?? 0) + 1
        let staged = "\(directory)/0"
        try FileManager.default.moveItem(atPath: staged, toPath: "\(directory)/\(next)")
        try write(key: FernetKey.generateEncoded(), number: 0)
        numbers = try numberedKeys().filter { $0 != 0 }
        while numbers.count + 1 > maxActiveKeys, let oldest = numbers.first {
            try FileManager.default.removeItem(atPath: "\(directory)/\(oldest)")
            numbers.removeFirst()
        }
        try reload()
    }
}

enum ConfigErrorKeys: Error, CustomStringConvertible {
    case badKey(String)
    var description: String {
        switch self {
        case .badKey(let path): return "invalid Fernet key in \(path)"
        }
    }
}
