/// JSON text appended as a view is walked, for responses built straight from typed records:
/// no intermediate `JSON` values or dictionaries, members in the order they are written.
///
///     var out = JSONWriter()
///     out.object { server in
///         server.field("id", instance.uuid)
///         server.field("metadata", JSON.object(...))
///     }
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []
    /// Whether the next member or element follows another one at its level.
    private var follows = false

    public init(capacity: Int = 1024) {
        bytes.reserveCapacity(capacity)
    }

    public mutating func object(_ members: (inout JSONWriter) throws -> Void) rethrows {
        try nested(UInt8(ascii: "{"), UInt8(ascii: "}"), members)
    }

    public mutating func array(_ elements: (inout JSONWriter) throws -> Void) rethrows {
        try nested(UInt8(ascii: "["), UInt8(ascii: "]"), elements)
    }

    /// An object member's name; its value is what is written next.
    public mutating func key(_ name: String) {
        separate()
        JSON.writeString(name, to: &bytes)
        bytes.append(contentsOf: ": ".utf8)
        follows = false
    }

    public mutating func value(_ text: String) {
        separate()
        JSON.writeString(text, to: &bytes)
        follows = true
    }

    public mutating func value(_ number: Int) {
        separate()
        JSON.writeInt(number, to: &bytes)
        follows = true
    }

    public mutating func value(_ flag: Bool) {
        separate()
        bytes.append(contentsOf: (flag ? "true" : "false").utf8)
        follows = true
    }

    public mutating func value(_ json: JSON) {
        separate()
        json.write(to: &bytes)
        follows = true
    }

    /// A value already written as JSON text (kept that way by a cache).
    public mutating func value(serialized json: [UInt8]) {
        separate()
        bytes.append(contentsOf: json)
        follows = true
    }

    public mutating func field(_ name: String, _ text: String) {
        key(name)
        value(text)
    }

    /// `null` when `text` is nil.
    public mutating func field(_ name: String, _ text: String?) {
        key(name)
        if let text { value(text) } else { value(JSON.null) }
    }

    public mutating func field(_ name: String, _ number: Int) {
        key(name)
        value(number)
    }

    public mutating func field(_ name: String, _ flag: Bool) {
        key(name)
        value(flag)
    }

    public mutating func field(_ name: String, _ json: JSON) {
        key(name)
        value(json)
    }

    private mutating func nested(
        _ open: UInt8, _ close: UInt8, _ body: (inout JSONWriter) throws -> Void
    ) rethrows {
        self.open(open)
        try body(&self)
        self.close(close)
    }

    /// An object or array opened, for a stream that sends what is written between its
    /// elements (`Response.jsonList`); `close` must follow.
    mutating func open(_ bracket: UInt8) {
        separate()
        bytes.append(bracket)
        follows = false
    }

    mutating func close(_ bracket: UInt8) {
        bytes.append(bracket)
        follows = true
    }

    /// The text written since the last call, leaving the writer where it was in the document.
    mutating func takeBytes() -> [UInt8] {
        defer { bytes.removeAll(keepingCapacity: true) }
        return bytes
    }

    private mutating func separate() {
        if follows { bytes.append(contentsOf: ", ".utf8) }
    }
}
