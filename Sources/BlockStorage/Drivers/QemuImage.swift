import Foundation
import StratusCore

/// `qemu-img`, always with the input format stated: probing user data could make a raw
/// volume that looks like qcow2 point QEMU at a host file.
enum QemuImage {
    static func create(_ path: String, format: String, sizeGB: Int) async throws {
        try await HostCommand.run(["qemu-img", "create", "-q", "-f", format, path, "\(sizeGB)G"])
    }

    /// Copies `source` into a new `target`, reading even while a guest holds the source open.
    static func convert(_ source: String, from sourceFormat: String, to target: String, format: String) async throws {
        try await HostCommand.run([
            "qemu-img", "convert", "-U", "-f", sourceFormat, "-O", format, source, target,
        ])
    }

    /// Grows the image to `sizeGB` (never shrinks).
    static func grow(_ path: String, format: String, sizeGB: Int) async throws {
        let bytes = Int64(sizeGB) << 30
        if try await info(path, format: format).virtualSize < bytes {
            try await HostCommand.run(["qemu-img", "resize", "-q", "-f", format, path, "\(sizeGB)G"])
        }
    }

    struct Info: Sendable {
        var virtualSize: Int64
        var backingFile: String?
        var dataFile: String?
    }

    static func info(_ path: String, format: String) async throws -> Info {
        let text = try await HostCommand.run(["qemu-img", "info", "-U", "--output=json", "-f", format, path])
        let json = try JSON.parse(Array(text.utf8))
        return Info(
            virtualSize: Int64(json["virtual-size"]?.intValue ?? 0),
            backingFile: json["backing-filename"]?.stringValue ?? json["full-backing-filename"]?.stringValue,
            dataFile: json["format-specific"]?["data"]?["data-file"]?.stringValue)
    }

    /// Refuses image data that would make QEMU open other files (a backing or data file).
    static func checkSelfContained(_ path: String, format: String) async throws {
        let info = try await info(path, format: format)
        if info.backingFile != nil || info.dataFile != nil {
            throw VolumeDriverError("Image data refers to another file; only self-contained images are accepted.")
        }
    }
}
