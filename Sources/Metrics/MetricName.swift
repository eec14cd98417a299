/// What a metric may be called: ASCII letters, digits and `_`, not starting with a digit
/// (so a threshold can name it before its `.statistic`).
public enum MetricName {
    public static func isValid(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(48...57).contains(first), name.utf8.count <= 128 else { return false }
        return name.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 95 }
    }
}
