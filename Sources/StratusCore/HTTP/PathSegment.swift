import Foundation

extension String {
    /// This text as one segment of a URL path: everything but unreserved characters
    /// percent-encoded, so an id taken from a request cannot reach another path or query when
    /// a service passes it on to another.
    public var pathSegment: String {
        addingPercentEncoding(withAllowedCharacters: Self.unreserved) ?? ""
    }

    /// This text as a query value, encoded the same way.
    public var queryValue: String { pathSegment }

    private static let unreserved = CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
}
