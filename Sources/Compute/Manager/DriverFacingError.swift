/// A failure on a compute host worth showing as it is: in an instance fault or a log line.
struct DriverFacingError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
