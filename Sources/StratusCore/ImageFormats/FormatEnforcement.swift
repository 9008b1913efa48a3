/// What Glance does with the inspector's verdict on new data (`require_image_format_match`):
/// data in a bare container must be the `disk_format` it claims, and safe for qemu to open.
public struct FormatEnforcement: Sendable {
    /// Refuse data whose format differs from its `disk_format` (Glance's default); safety
    /// failures are refused either way.
    public var requireMatch = true

    public init(requireMatch: Bool = true) { self.requireMatch = requireMatch }

    /// Formats raw data legitimately contains: a partition table, or an ISO filesystem.
    static let rawContents: Set<String> = ["gpt", "iso"]

    /// The virtual size to record for data inspected as `inspection`, declared `diskFormat` in
    /// `containerFormat`; throws 400 (Glance's messages) for data that must be refused.
    public func check(_ inspection: ImageInspection, diskFormat: String?, containerFormat: String?) throws -> Int64? {
        let declared = diskFormat ?? ""
        let detected = inspection.format
        // Glance inspects bare images only; the others are archives (ova, ovf) or kernels (aki...).
        guard containerFormat == "bare" else { return detected == declared ? inspection.virtualSize : nil }
        if inspection.isAmbiguous {
            let formats = inspection.matched.joined(separator: ", ")
            throw APIError.badRequest("Image data matches more than one format: \(formats)")
        }
        var virtualSize: Int64?
        if detected == declared {
            virtualSize = inspection.virtualSize
        } else if detected == "raw", !FormatInspector.inspectable.contains(declared) {
            virtualSize = nil  // ami, ari, aki... cannot be told from raw data
        } else if declared == "raw", Self.rawContents.contains(detected) {
            return inspection.virtualSize
        } else if requireMatch {
            throw APIError.badRequest("Image disk_format \(declared) does not match stream data \(detected)")
        }
        guard inspection.failures.isEmpty else {
            let checks = inspection.failures.keys.sorted().joined(separator: ", ")
            throw APIError.badRequest("Image failed safety checks (\(checks))")
        }
        return virtualSize
    }
}
