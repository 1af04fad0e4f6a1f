import Foundation
import TOMLKit

/// Typed reads from a TOML table that report a wrong type as an issue at the key's
/// path and return nil, so the caller falls back to the default and carries on: one
/// pass finds every problem in the file.
extension ConfigParser {
    /// `parent.key`, quoting keys that are not bare TOML keys.
    static func path(_ parent: String, _ key: String) -> String {
        let bare = !key.isEmpty && key.unicodeScalars.allSatisfy {
            switch $0 {
            case "a"..."z", "A"..."Z", "0"..."9", "_", "-": return true
            default: return false
            }
        }
        let component = bare ? key : "\"\(key.replacingOccurrences(of: "\"", with: "\\\""))\""
        return parent.isEmpty ? component : "\(parent).\(component)"
    }

    static func describe(_ type: TOMLType) -> String {
        switch type {
        case .string: return "string"
        case .int: return "integer"
        case .double: return "float"
        case .bool: return "boolean"
        case .array: return "array"
        case .table: return "table"
        case .date: return "date"
        case .time: return "time"
        case .dateTime: return "date-time"
        }
    }

    func value(_ table: TOMLTable, _ key: String) -> TOMLValueConvertible? {
        guard table.contains(key: key) else { return nil }
        let found: TOMLValueConvertible? = table[key]
        return found
    }

    func wrongType(_ path: String, expected: String, got value: TOMLValueConvertible) {
        report(path, "expected \(expected), got \(Self.describe(value.type))")
    }

    /// Reports every key of `table` not in `known` ("unknown key", typo protection).
    func rejectUnknownKeys(_ table: TOMLTable, at parent: String, known: [String], what: String = "key") {
        for key in table.keys.sorted() where !known.contains(key) {
            let hint = known.first { Self.isLikelyTypo(key, of: $0) }.map { "; did you mean \"\($0)\"?" } ?? ""
            report(Self.path(parent, key), "unknown \(what)\(hint)")
        }
    }

    /// One edit (insertion, deletion, substitution or swap of neighbours) apart.
    static func isLikelyTypo(_ a: String, of b: String) -> Bool {
        let x = Array(a), y = Array(b)
        if x == y { return false }
        if x.count == y.count {
            let diffs = x.indices.filter { x[$0] != y[$0] }
            if diffs.count == 1 { return true }
            return diffs.count == 2 && diffs[1] == diffs[0] + 1
                && x[diffs[0]] == y[diffs[1]] && x[diffs[1]] == y[diffs[0]]
        }
        guard abs(x.count - y.count) == 1 else { return false }
        let (long, short) = x.count > y.count ? (x, y) : (y, x)
        for i in long.indices where Array(long[..<i] + long[(i + 1)...]) == short { return true }
        return false
    }

    func table(_ parent: TOMLTable, _ key: String, at path: String) -> TOMLTable? {
        guard let v = value(parent, key) else { return nil }
        guard v.type == .table, let t = v.table else {
            wrongType(path, expected: "a table", got: v)
            return nil
        }
        return t
    }

    func string(_ table: TOMLTable, _ key: String, at path: String) -> String? {
        guard let v = value(table, key) else { return nil }
        guard v.type == .string, let s = v.string else {
            wrongType(path, expected: "a string", got: v)
            return nil
        }
        return s
    }

    func bool(_ table: TOMLTable, _ key: String, at path: String) -> Bool? {
        guard let v = value(table, key) else { return nil }
        guard v.type == .bool, let b = v.bool else {
            wrongType(path, expected: "a boolean (true or false)", got: v)
            return nil
        }
        return b
    }

    func int(_ table: TOMLTable, _ key: String, at path: String) -> Int? {
        guard let v = value(table, key) else { return nil }
        guard v.type == .int, let i = v.int else {
            wrongType(path, expected: "an integer", got: v)
            return nil
        }
        return i
    }

    /// Integers are accepted where seconds are meant: `idle_timeout = 300`.
    func number(_ table: TOMLTable, _ key: String, at path: String) -> Double? {
        guard let v = value(table, key) else { return nil }
        if v.type == .int, let i = v.int { return Double(i) }
        guard v.type == .double, let d = v.double else {
            wrongType(path, expected: "a number", got: v)
            return nil
        }
        return d
    }

    /// The strings of an array, each with its index; non-strings are reported at
    /// `path[i]` and skipped. Nil when the key is absent or not an array.
    func stringArray(_ table: TOMLTable, _ key: String, at path: String) -> [(index: Int, value: String)]? {
        guard let v = value(table, key) else { return nil }
        guard v.type == .array, let array = v.array else {
            wrongType(path, expected: "an array of strings", got: v)
            return nil
        }
        var result: [(index: Int, value: String)] = []
        for index in 0..<array.count {
            let element: TOMLValueConvertible = array[index]
            if element.type == .string, let s = element.string {
                result.append((index, s))
            } else {
                wrongType("\(path)[\(index)]", expected: "a string", got: element)
            }
        }
        return result
    }

    /// Lowercased valid host names, without duplicates; bad ones reported at `path[i]`.
    func domainList(_ table: TOMLTable, _ key: String, at path: String) -> [String]? {
        guard let entries = stringArray(table, key, at: path) else { return nil }
        var result: [String] = []
        for (index, raw) in entries {
            let domain = raw.lowercased()
            if let problem = HostNameSyntax.problem(domain) {
                report("\(path)[\(index)]", "not a valid domain name: \(problem)")
            } else if !result.contains(domain) {
                result.append(domain)
            }
        }
        return result
    }
}
