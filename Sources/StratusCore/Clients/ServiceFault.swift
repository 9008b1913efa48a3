/// A peer service refused a call: its HTTP status and the message of its fault body.
public struct ServiceFault: Error, CustomStringConvertible, Sendable {
    public let service: String
    public let status: Int
    public let message: String

    public init(service: String, status: Int, message: String) {
        self.service = service
        self.status = status
        self.message = message
    }

    public init(_ service: String, _ reply: ServiceReply) {
        self.init(service: service, status: reply.status, message: reply.faultMessage)
    }

    public var description: String { message }
    public var isNotFound: Bool { status == 404 }
    public var isConflict: Bool { status == 409 }
}

extension ServiceReply {
    /// The reply when it succeeded, otherwise the fault it carries.
    func checked(_ service: String) throws -> ServiceReply {
        guard ok else { throw ServiceFault(service, self) }
        return self
    }
}
