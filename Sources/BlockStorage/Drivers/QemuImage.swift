import Foundation
import StratusCore

/// `qemu-img`, always with the input format stated: probing user data could make a raw
/// volume that looks like qcow2 point QEMU at a host file.
enum QemuImage {
    /// A new image; with `encryption`, a LUKS one (qcow2 with LUKS inside, or `luks` for raw).
    static func create(
        _ path: String, format: String, sizeGB: Int, encryption: VolumeEncryption? = nil
    ) async throws {
        guard let encryption else {
            try await HostCommand.run(["qemu-img", "create", "-q", "-f", format, path, "\(sizeGB)G"])
            return
        }
        try await LuksImage.run(
            ["qemu-img", "create", "-q", "-f", LuksImage.diskFormat(format)] + LuksImage.secretObject
                + ["-o", creationOptions(format, encryption), path, "\(sizeGB)G"],
            passphrase: encryption.passphrase)
    }

    /// Copies `source` into a new `target`, reading even while a guest holds the source open.
    /// An encrypted source is read with `encryption`'s passphrase (the key manager's one key);
    /// with `encryption`, the target is encrypted.
    static func convert(
        _ source: String, from sourceFormat: String, encrypted sourceEncrypted: Bool = false, to target: String,
        format: String, encryption: VolumeEncryption? = nil
    ) async throws {
        guard let encryption else {
            if sourceEncrypted { throw VolumeDriverError("Encrypted data cannot be copied out unencrypted.") }
            try await HostCommand.run([
                "qemu-img", "convert", "-U", "-f", sourceFormat, "-O", format, source, target,
            ])
            return
        }
        let input =
            sourceEncrypted
            ? ["--image-opts", LuksImage.imageOptions(source, format: sourceFormat)] : ["-f", sourceFormat, source]
        try await LuksImage.run(
            ["qemu-img", "convert", "-U"] + LuksImage.secretObject + input
                + ["-O", LuksImage.diskFormat(format), "-o", creationOptions(format, encryption), target],
            passphrase: encryption.passphrase)
    }

    /// Grows the image to `sizeGB` (never shrinks); an encrypted one with its passphrase.
    static func grow(_ path: String, format: String, sizeGB: Int, passphrase: String? = nil) async throws {
        let bytes = Int64(sizeGB) << 30
        let diskFormat = passphrase == nil ? format : LuksImage.diskFormat(format)
        guard try await info(path, format: diskFormat).virtualSize < bytes else { return }
        guard let passphrase else {
            try await HostCommand.run(["qemu-img", "resize", "-q", "-f", format, path, "\(sizeGB)G"])
            return
        }
        try await LuksImage.resize(path, format: format, to: "\(sizeGB)G", passphrase: passphrase)
    }

    private static func creationOptions(_ format: String, _ encryption: VolumeEncryption) -> String {
        encryption.cipher.options(prefix: format == "raw" ? "" : "encrypt.")
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
