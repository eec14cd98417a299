/// Text escaped for an XML attribute or element (the JUnit files of `run --junit` and
/// `test --junit`). XML 1.0 has no control characters but tab, newline and carriage
/// return, not even as character references: the others are left out.
public enum XMLText {
    public static func escape(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\n", "\t", "\r": out.unicodeScalars.append(c)
            default:
                if c.value >= 0x20 { out.unicodeScalars.append(c) }
            }
        }
        return out
    }
}
