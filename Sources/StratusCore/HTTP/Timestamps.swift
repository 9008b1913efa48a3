import Foundation

/// OpenStack timestamp formats. Keystone tokens use microseconds and `Z`
/// (`2026-11-22T06:00:00.000000Z`); most resources use seconds (`2026-11-22T06:00:00Z`).
public enum Timestamp {
    public static func iso8601(_ date: Date, fractional: Bool = false) -> String {
        let seconds = date.timeIntervalSince1970
        var whole = floor(seconds)
        var micros = Int(((seconds - whole) * 1_000_000).rounded())
        if micros >= 1_000_000 { whole += 1; micros -= 1_000_000 }
        var t = time_t(whole)
        var parts = tm()
        gmtime_r(&t, &parts)
        // Digits by hand: String(format:) is slow, and lists render many timestamps.
        var out: [UInt8] = []
        out.reserveCapacity(27)
        func digits(_ value: Int, _ width: Int) {
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                out.append(UInt8(48 + rest / divisor % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        digits(Int(parts.tm_year) + 1900, 4); out.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mon) + 1, 2); out.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mday), 2); out.append(UInt8(ascii: "T"))
        digits(Int(parts.tm_hour), 2); out.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_min), 2); out.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_sec), 2)
        if fractional {
            out.append(UInt8(ascii: "."))
            digits(micros, 6)
        }
        out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.ffffff][Z|±HH:MM]`; nil when malformed.
    public static func parse(_ text: String) -> Date? {
        let chars = Array(text.utf8)
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= chars.count else { return nil }
            var value = 0
            for c in chars[from..<from + count] {
                guard c >= 48 && c <= 57 else { return nil }
                value = value * 10 + Int(c - 48)
            }
            return value
        }
        guard chars.count >= 10, let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
            chars[4] == UInt8(ascii: "-"), chars[7] == UInt8(ascii: "-"), (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        var hour = 0, minute = 0, second = 0
        var fraction = 0.0
        var index = 10
        if index < chars.count, chars[index] == UInt8(ascii: "T") || chars[index] == UInt8(ascii: " ") {
            guard let h = number(11, 2), let m = number(14, 2), h < 24, m < 60 else { return nil }
            hour = h; minute = m; index = 16
            if index < chars.count, chars[index] == UInt8(ascii: ":") {
                guard let s = number(17, 2), s < 61 else { return nil }
                second = s; index = 19
            }
            if index < chars.count, chars[index] == UInt8(ascii: ".") {
                index += 1
                var scale = 0.1
                while index < chars.count, chars[index] >= 48 && chars[index] <= 57 {
                    fraction += Double(chars[index] - 48) * scale
                    scale /= 10
                    index += 1
                }
            }
        }
        var offset = 0
        if index < chars.count {
            switch chars[index] {
            case UInt8(ascii: "Z"), UInt8(ascii: "z"): index += 1
            case UInt8(ascii: "+"), UInt8(ascii: "-"):
                guard let oh = number(index + 1, 2) else { return nil }
                let om = number(index + 4, 2) ?? number(index + 3, 2) ?? 0
                offset = (oh * 3600 + om * 60) * (chars[index] == UInt8(ascii: "-") ? -1 : 1)
                index = chars.count
            default: return nil
            }
        }
        guard index == chars.count else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let epoch = timegm(&parts)
        return Date(timeIntervalSince1970: Double(epoch) + fraction - Double(offset))
    }
}
