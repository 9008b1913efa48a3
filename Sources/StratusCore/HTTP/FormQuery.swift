import Foundation
import Hummingbird

extension Request {
    /// The query as clients encode it (python-requests: `+` for spaces, keys such as
    /// `router%3Aexternal` percent-encoded), in order.
    public var formQueryItems: [(String, String)] {
        guard let query = uri.query, !query.isEmpty else { return [] }
        func decode(_ part: Substring) -> String {
            let text = part.replacingOccurrences(of: "+", with: " ")
            return text.removingPercentEncoding ?? text
        }
        return query.split(separator: "&").map { item in
            let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (decode(pair[0]), pair.count > 1 ? decode(pair[1]) : "")
        }
    }

    /// The last value of a form-encoded query parameter.
    public func formQuery(_ name: String) -> String? {
        formQueryItems.last { $0.0 == name }?.1
    }
}
