/// What the format inspector found in an image's data: the verdict Glance takes from oslo's
/// `InspectWrapper` before it lets qemu near the image.
public struct ImageInspection: Sendable, Equatable {
    /// The format the data is in: the one that matched, "iso" for a bootable ISO that also
    /// carries a GPT, "raw" when none did (and the first match when `isAmbiguous`).
    public var format: String
    /// The size of the disk presented to a guest, from `format`'s header (raw: the data size);
    /// 0 when the header does not say.
    public var virtualSize: Int64
    /// Every format whose signature matched, in `FormatInspector.inspectable` order; ["raw"] when none did.
    public var matched: [String]
    /// `format`'s failed safety checks, check name → reason; "format" when its header is incomplete
    /// or malformed, so it could not be checked.
    public var failures: [String: String]

    /// Whether the data looks like several formats, one hidden in another: Glance refuses it,
    /// except an ISO that also carries a GPT (a bootable ISO).
    public var isAmbiguous: Bool { matched.count > 1 && Set(matched) != FormatInspector.bootableISO }
}

/// Tells which disk format an image's data is in, its virtual size, and whether qemu may safely
/// open it; a pure-Swift counterpart of oslo.utils' `imageutils.format_inspector`.
public enum FormatInspector {
    /// The formats the inspector recognises (Glance's ALL_FORMATS): other disk formats (ami, ari,
    /// aki...) cannot be told from raw data and are let through when the data inspects as raw.
    public static let inspectable = ["raw", "qcow2", "vmdk", "vhd", "vhdx", "vdi", "iso", "gpt"]

    static let bootableISO: Set<String> = [ISOFormat.name, GPTFormat.name]

    public static func inspect(_ data: some ImageDataReader) async throws -> ImageInspection {
        let formats: [any InspectableFormat] = try await [
            QCOW2Format(reading: data),
            VMDKFormat(reading: data),
            VHDFormat(reading: data),
            VHDXFormat(reading: data),
            VDIFormat(reading: data),
            ISOFormat(reading: data),
            GPTFormat(reading: data),
        ]
        let matching = formats.filter(\.matches)
        let names = matching.map { type(of: $0).name }
        let chosen = Set(names) == bootableISO ? matching.first { $0 is ISOFormat } : matching.first
        guard let chosen else {
            return ImageInspection(format: "raw", virtualSize: data.size, matched: ["raw"], failures: [:])
        }
        return ImageInspection(
            format: type(of: chosen).name, virtualSize: chosen.virtualSize, matched: names,
            failures: chosen.safetyCheck())
    }
}
