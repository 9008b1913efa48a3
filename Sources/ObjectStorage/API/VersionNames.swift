import Foundation

/// Where object versioning (`X-Versions-Enabled`) keeps versions: a hidden container per
/// container, `\u{1}versions\u{1}<container>`, holding `<object>\u{1}<inverted version id>`, so that
/// a name's versions list newest first, right after the name itself. A version id is the
/// Swift timestamp of the write. Clients cannot name anything with the reserved character.
enum VersionNames {
    static let reserved: Character = "\u{1}"
    static let deleteMarkerType = "application/x-deleted;swift_versions_deleted=1"
    /// Marks the object that stands for the current version: a link to it.
    static let linkKey = "x-object-sysmeta-versions-symlink"

    static func container(for name: String) -> String { "\u{1}versions\u{1}" + name }

    /// NUL (Swift's reserved character) and ours: a name holding them is refused.
    static func isReserved(_ name: String) -> Bool { name.contains("\u{0}") || name.contains(reserved) }

    static func object(_ name: String, version: String) -> String { name + "\u{1}" + inverted(version) }

    /// The object name and version id of a name in a versions container.
    static func parse(_ stored: String) -> (name: String, version: String)? {
        guard let split = stored.lastIndex(of: reserved), let version = version(String(stored[split...].dropFirst()))
        else { return nil }
        return (String(stored[..<split]), inverted(version))
    }

    /// The canonical form of a version id (a timestamp such as `1607107202.12345`), nil when
    /// it is none.
    static func version(_ text: String) -> String? {
        guard let seconds = Double(text), seconds.isFinite, seconds >= 0, seconds < 1e10 else { return nil }
        return SwiftTimestamp.format(seconds)
    }

    /// `9999999999.99999` minus the version: newer versions sort first.
    static func inverted(_ version: String) -> String {
        let parts = version.split(separator: ".", maxSplits: 1)
        let whole = parts.first.flatMap { Int($0) } ?? 0
        let fraction = parts.count > 1 ? Int(parts[1].prefix(5).padding(toLength: 5, withPad: "0", startingAt: 0)) : 0
        let units = 9_999_999_999_99999 - (whole * 100_000 + (fraction ?? 0))
        return String(format: "%010ld.%05ld", units / 100_000, units % 100_000)
    }
}

/// Whether a container keeps versions: never asked, or `X-Versions-Enabled` true or false.
enum VersioningState: Sendable {
    case never, enabled, suspended
}

extension ContainerInfo {
    var versioning: VersioningState {
        switch metadata["x-versions-enabled"] {
        case nil: return .never
        case "True": return .enabled
        default: return .suspended
        }
    }
}
