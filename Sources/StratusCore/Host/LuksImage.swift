import Foundation

/// LUKS-encrypted disk images as `qemu-img` opens them: raw data in QEMU's `luks` format,
/// or qcow2 with LUKS inside (`encrypt.format=luks`). The passphrase reaches QEMU as a
/// `secret` object read from standard input, never on a command line or in a file.
public enum LuksImage {
    public static let secretID = "sec0"
    /// The `qemu-img` object holding the passphrase given on standard input.
    public static let secretObject = ["--object", "secret,id=\(secretID),file=/dev/stdin,format=raw"]

    /// The format encrypted data of a backend in `format` has on disk: `luks` for raw.
    public static func diskFormat(_ format: String) -> String { format == "raw" ? "luks" : format }

    /// The `--image-opts` string that opens the image at `path` (in the backend's `format`)
    /// with the secret.
    public static func imageOptions(_ path: String, format: String) -> String {
        let file = "file.filename=" + path.replacingOccurrences(of: ",", with: ",,")
        if format == "raw" { return "driver=luks,\(file),key-secret=\(secretID)" }
        return "driver=\(format),\(file),encrypt.format=luks,encrypt.key-secret=\(secretID)"
    }

    /// Grows the encrypted image at `path` (in the backend's `format`) to `size` (`qemu-img`'s
    /// size: bytes, or with a suffix such as `2G`).
    public static func resize(_ path: String, format: String, to size: String, passphrase: String) async throws {
        try await run(
            ["qemu-img", "resize", "-q"] + secretObject + ["--image-opts", imageOptions(path, format: format), size],
            passphrase: passphrase)
    }

    /// Runs `qemu-img` `arguments` (which name the secret) with the passphrase. Making a
    /// LUKS header first times PBKDF2 by the thread's user CPU time, which the kernel may
    /// not have advanced yet when its samples put the process's time in the kernel (two
    /// times in three on this busy 2-core machine). QEMU then refuses at once (in about
    /// 40 ms), so the refusal is tried again, up to 40 times.
    @discardableResult
    public static func run(_ arguments: [String], passphrase: String) async throws -> String {
        var attempt = 1
        while true {
            do {
                return try await HostCommand.run(arguments, input: Data(passphrase.utf8))
            } catch let failure as HostCommand.Failure
                where failure.output.contains("Unable to get accurate CPU usage") && attempt < 40
            {
                attempt += 1
            }
        }
    }
}
