/// Virtual PC / Hyper-V disks: a 512-byte big-endian footer starting `conectix`, at the end of
/// fixed disks and copied to the start of dynamic ones.
struct VHDFormat: InspectableFormat {
    static let name = "vhd"

    private static let cookie = Array("conectix".utf8)
    private static let footerLength = 512

    /// The copy at the start when there is one, else the footer at the end.
    private let footer: [UInt8]

    init(reading data: some ImageDataReader) async throws {
        let head = try await data.read(at: 0, length: Self.footerLength)
        if head.hasBytes(Self.cookie, at: 0) || data.size < Int64(Self.footerLength) {
            footer = head
        } else {
            footer = try await data.readLast(Self.footerLength)
        }
    }

    var matches: Bool { footer.hasBytes(Self.cookie, at: 0) }

    /// The current size at 48: what the guest sees after any resize (the original size is at 40).
    var virtualSize: Int64 {
        guard matches, footer.count == Self.footerLength else { return 0 }
        return Int64(clamping: footer.uint64BE(at: 48))
    }

    /// Nothing in a VHD names another file: the format has no meaningful safety check.
    func safetyCheck() -> [String: String] { [:] }
}
