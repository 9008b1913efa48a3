import Foundation

/// An HTTP `Range: bytes=...` header resolved against an object's length.
enum ByteRanges: Equatable, Sendable {
    /// No usable range header: the whole object.
    case whole
    /// Satisfiable ranges, inclusive, in the order asked.
    case ranges([ClosedRange<Int64>])
    /// A valid header none of whose ranges overlaps the object (416).
    case unsatisfiable

    /// Parses `header` for an object of `length` bytes. A malformed header is ignored, as
    /// RFC 7233 asks (the whole object is served).
    init(header: String?, length: Int64) {
        guard let header, header.lowercased().hasPrefix("bytes=") else {
            self = .whole
            return
        }
        var ranges: [ClosedRange<Int64>] = []
        for spec in header.dropFirst(6).split(separator: ",") {
            let part = spec.trimmingCharacters(in: .whitespaces)
            let bounds = part.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
            guard bounds.count == 2 else {
                self = .whole
                return
            }
            let first = bounds[0].isEmpty ? nil : Int64(bounds[0])
            let last = bounds[1].isEmpty ? nil : Int64(bounds[1])
            switch (first, last) {
            case (nil, nil):
                self = .whole
                return
            case (nil, let suffix?):
                guard bounds[0].isEmpty else {
                    self = .whole
                    return
                }
                if suffix > 0, length > 0 { ranges.append(max(0, length - suffix)...(length - 1)) }
            case (let start?, nil):
                guard bounds[1].isEmpty else {
                    self = .whole
                    return
                }
                if start < length { ranges.append(start...(length - 1)) }
            case (let start?, let end?):
                guard start <= end else {
                    self = .whole
                    return
                }
                if start < length { ranges.append(start...min(end, length - 1)) }
            }
        }
        self = ranges.isEmpty ? .unsatisfiable : .ranges(ranges)
    }
}

/// The conditional headers of a GET or HEAD, judged against an object's ETag and time.
enum Preconditions {
    enum Outcome: Equatable { case proceed, notModified, failed }

    static func evaluate(
        ifMatch: String?, ifNoneMatch: String?, ifModifiedSince: Date?, ifUnmodifiedSince: Date?, etag: String,
        lastModified: Date
    ) -> Outcome {
        if let ifMatch, !matches(ifMatch, etag) { return .failed }
        if ifMatch == nil, let ifUnmodifiedSince, lastModified > ifUnmodifiedSince { return .failed }
        if let ifNoneMatch, matches(ifNoneMatch, etag) { return .notModified }
        if ifNoneMatch == nil, let ifModifiedSince, lastModified <= ifModifiedSince { return .notModified }
        return .proceed
    }

    /// Whether an `If-Match`-style list (`*`, or quoted or bare tags) names `etag`.
    static func matches(_ list: String, _ etag: String) -> Bool {
        let bare = etag.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        return list.split(separator: ",").contains { item in
            let tag = item.trimmingCharacters(in: .whitespaces)
            return tag == "*" || tag.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) == bare
        }
    }
}
