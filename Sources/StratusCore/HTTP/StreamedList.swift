import Hummingbird
import NIOCore

extension Response {
    /// A JSON list response sent while it is written: `{"<key>": [`, each element, `]`, the
    /// members `after` writes, `}`, the text going out whenever `chunkBytes` have gathered. A
    /// page of a thousand servers is 1.5 MiB written once and copied once into a buffer of its
    /// own; streamed, it is a few chunks of 64 KiB and starts leaving at the first one.
    /// The elements are in memory already: nothing can fail after the status is sent.
    public static func jsonList<Element: Sendable>(
        _ key: String, _ elements: [Element], chunkBytes: Int = 64 << 10,
        element: @escaping @Sendable (Element, inout JSONWriter) -> Void,
        after: @escaping @Sendable (inout JSONWriter) -> Void = { _ in }
    ) -> Response {
        let body = ResponseBody { writer in
            var out = JSONWriter(capacity: chunkBytes + chunkBytes / 4)
            var sent = 0
            out.open(UInt8(ascii: "{"))
            out.key(key)
            out.open(UInt8(ascii: "["))
            for item in elements {
                element(item, &out)
                if out.bytes.count >= chunkBytes {
                    let chunk = out.takeBytes()
                    sent += chunk.count
                    try await writer.write(ByteBuffer(bytes: chunk))
                }
            }
            out.close(UInt8(ascii: "]"))
            after(&out)
            out.close(UInt8(ascii: "}"))
            let last = out.takeBytes()
            try await writer.write(ByteBuffer(bytes: last))
            FreedMemory.shared.noteResponse(bytes: sent + last.count)
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: body)
    }
}
