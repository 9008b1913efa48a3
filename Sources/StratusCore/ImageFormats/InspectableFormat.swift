/// One disk format's view of an image (one of oslo's format inspectors): it reads the regions its
/// header lives in, then says whether its signature is there, the virtual size, and what is unsafe.
protocol InspectableFormat: Sendable {
    /// The format's name as qemu-img and Glance's `disk_format` spell it.
    static var name: String { get }

    /// Reads the regions of `data` this format needs; short data is not an error.
    init(reading data: some ImageDataReader) async throws

    /// Whether the data carries this format's signature.
    var matches: Bool { get }

    /// The size of the disk the image presents to a guest; 0 when the header does not say.
    var virtualSize: Int64 { get }

    /// The safety checks that failed, check name → reason; empty when qemu may open the image.
    func safetyCheck() -> [String: String]
}

extension InspectableFormat {
    /// The failure name for a header that is incomplete or malformed: oslo raises `ImageFormatError`
    /// there, and an image that cannot be checked is refused like one that failed a check.
    static var formatCheck: String { "format" }
}
