import Foundation

/// One enabled backend of this host: `host@name`, one pool named after the backend.
struct Backend: Sendable {
    /// The section name in `enabled_backends`.
    let name: String
    /// `volume_backend_name`, what volume types ask for.
    let backendName: String
    /// `host@name`, the volume service's server on the bus.
    let host: String
    let zone: String
    let driver: any VolumeDriver
    let maxOverSubscriptionRatio: Double
    let reservedPercentage: Int
    /// Where work in progress (image downloads, exports) is written.
    let scratchDirectory: String

    /// `host@name#pool`, a volume's host.
    var poolHost: String { "\(host)#\(backendName)" }
}
