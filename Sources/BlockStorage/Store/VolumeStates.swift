/// A volume's `status`, stored as Cinder's strings.
enum VolumeStatus: String, Codable, Sendable, CaseIterable {
    case creating, downloading, available, reserved, attaching, detaching, deleting, uploading, extending
    case inUse = "in-use"
    case maintenance, retyping, reverting, managing, unmanaging
    case awaitingTransfer = "awaiting-transfer"
    case backingUp = "backing-up"
    case restoringBackup = "restoring-backup"
    case error
    case errorDeleting = "error_deleting"
    case errorExtending = "error_extending"
    case errorRestoring = "error_restoring"
    case errorManaging = "error_managing"

    /// States a user may delete the volume from (Cinder's `volume:delete` precondition).
    static let deletable: Set<VolumeStatus> = [.available, .error, .errorRestoring, .errorExtending, .errorManaging]

    /// What the API shows: Cinder keeps its managing states to itself.
    var shown: String {
        switch self {
        case .managing: "creating"
        case .errorManaging: "error"
        default: rawValue
        }
    }
}

/// A volume's (or attachment's) `attach_status`.
enum AttachStatus: String, Codable, Sendable {
    case detached, reserved, attaching, attached, detaching
    case errorAttaching = "error_attaching"
    case errorDetaching = "error_detaching"
}

/// A snapshot's `status`.
enum SnapshotStatus: String, Codable, Sendable, CaseIterable {
    case creating, available, deleting, error, restoring
    case errorDeleting = "error_deleting"
    case backingUp = "backing-up"
    case unmanaging
}

/// How an attachment opens the volume.
enum AttachMode: String, Codable, Sendable {
    case readWrite = "rw"
    case readOnly = "ro"
}

/// A row's state text the code does not know: a corrupt row, not a value to pass on.
struct UnknownState: Error, CustomStringConvertible {
    let kind: String
    let value: String
    var description: String { "unknown \(kind) '\(value)'" }
}

func parseState<S: RawRepresentable>(_ text: String, _ kind: String) throws -> S where S.RawValue == String {
    guard let state = S(rawValue: text) else { throw UnknownState(kind: kind, value: text) }
    return state
}
