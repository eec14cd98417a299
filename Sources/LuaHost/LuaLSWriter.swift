import RTJSON

/// Writes the LuaLS (lua-language-server) definitions of rtlua from `LuaAPICatalog`: the
/// `---@meta` library, the addon's `config.json`, and a `.luarc.json` that points at it.
public enum LuaLSWriter {
    /// Where the addon keeps its definition file, relative to the addon folder.
    public static let libraryFile = "library/rtlua.lua"
    public static let configFile = "config.json"
    public static let luarcFile = ".luarc.json"
    public static let runtimeVersion = "Lua 5.4"

    // MARK: the library

    /// The `---@meta` definition file: aliases, shapes, bound objects, then the globals.
    public static func library() -> String {
        var out = [
            "---@meta rtlua",
            "-- The globals rtlua gives a script, for lua-language-server. Written by `rtlua types`",
            "-- from rtlua's own registry of what it binds: run it again after an upgrade, do not edit.",
            "",
        ]
        for alias in LuaAPICatalog.aliases {
            out += comment(alias.doc)
            out.append("---@alias \(alias.name)")
            out += alias.values.map { "---| \(quoted($0))" }
            out.append("")
        }
        for cls in LuaAPICatalog.classes {
            out += comment(cls.doc)
            out.append("---@class \(cls.name)")
            out += cls.fields.map(field)
            if !cls.functions.isEmpty {
                let local = localName(cls.name)
                out.append("local \(local) = {}")
                out.append("")
                for f in cls.functions { out += function(f, owner: local) }
            } else {
                out.append("")
            }
        }
        for global in LuaAPICatalog.globals + LuaAPICatalog.declaredGlobals {
            switch global.kind {
            case .function(let f):
                out += function(f, owner: nil)
            case .value(let type, _):
                out += comment(global.doc)
                out.append("---@type \(type)")
                out.append("\(global.name) = \(placeholder(type))")
                out.append("")
            case .table(let className, let fields, let functions):
                out += comment(global.doc)
                out.append("---@class \(className)")
                out += fields.map(field)
                out.append("\(global.name) = {}")
                out.append("")
                for f in functions { out += function(f, owner: global.name) }
            }
        }
        return out.joined(separator: "\n")
    }

    private static func comment(_ doc: String) -> [String] {
        doc.isEmpty ? [] : doc.split(separator: "\n", omittingEmptySubsequences: false).map { "---" + $0 }
    }

    private static func field(_ f: LuaAPIField) -> String {
        "---@field \(f.name) \(f.type)" + (f.doc.isEmpty ? "" : " \(f.doc)")
    }

    private static func function(_ f: LuaAPIFunction, owner: String?) -> [String] {
        var out = comment(f.doc)
        if f.suspends { out.append("---@async") }
        for p in f.params {
            let name = p.optional ? p.name + "?" : p.name
            out.append("---@param \(name) \(p.type)" + (p.doc.isEmpty ? "" : " \(p.doc)"))
        }
        for r in f.returns {
            var line = "---@return \(r.type)"
            if !r.name.isEmpty { line += " \(r.name)" }
            if !r.doc.isEmpty { line += " # \(r.doc)" }
            out.append(line)
        }
        let name = owner.map { $0 + (f.isMethod ? ":" : ".") + f.name } ?? f.name
        out.append("function \(name)(\(f.params.map(\.name).joined(separator: ", "))) end")
        out.append("")
        return out
    }

    /// `rtlua.RealtimeManager` → `RealtimeManager`: the local a class's functions hang on.
    static func localName(_ className: String) -> String {
        String(className.split(separator: ".").last ?? Substring(className))
    }

    /// A Lua value of roughly the declared type, so the file also runs as plain Lua.
    private static func placeholder(_ type: String) -> String {
        if type.hasSuffix("?") { return "nil" }
        switch type {
        case "integer", "number": return "1"
        case "string": return "\"\""
        case "boolean": return "false"
        default: return "{}"
        }
    }

    private static func quoted(_ s: String) -> String {
        // JSON string syntax is valid in a LuaLS literal type for these plain names.
        (try? JSONValue.string(s).jsonText()) ?? "\"\(s)\""
    }

    // MARK: config files

    /// The addon's `config.json`: how LuaLS recognises an rtlua project, and its settings.
    public static func addonConfig() -> String {
        let globals = (LuaAPICatalog.globals + LuaAPICatalog.declaredGlobals).map { OrderedJSON.string($0.name) }
        return OrderedJSON.object([
            ("name", .string("rtlua")),
            ("words", .array([.string("realtime[:.]%a+")])),
            ("files", .array([.string("_test%.lua$")])),
            ("settings", .object([
                ("Lua.runtime.version", .string(runtimeVersion)),
                ("Lua.diagnostics.globals", .array(globals)),
            ])),
        ]).text() + "\n"
    }

    public struct LuarcError: Error, CustomStringConvertible {
        public let description: String
    }

    /// A `.luarc.json` for Lua 5.4 with `libraryPath` (the addon's `library` folder) in
    /// `workspace.library`. An existing file's other settings are kept; running it twice
    /// changes nothing. An existing file that is not a JSON object is refused, not replaced.
    public static func luarc(libraryPath: String, existing: String?) throws(LuarcError) -> String {
        var fields: [(String, OrderedJSON)] = [
            ("$schema", .string("https://raw.githubusercontent.com/LuaLS/vscode-lua/master/setting/schema.json")),
        ]
        if let existing, !existing.allSatisfy(\.isWhitespace) {
            let parsed: JSONValue
            do { parsed = try JSONValue.parse(existing) } catch {
                throw LuarcError(description: "is not valid JSON (\(error)); fix or remove it")
            }
            guard case .object(let object) = parsed.resolved else { throw LuarcError(description: "is not a JSON object; fix or remove it") }
            fields = object.keys.sorted().map { ($0, OrderedJSON(object[$0]!)) }
        }
        func set(_ key: String, _ value: OrderedJSON) {
            if let i = fields.firstIndex(where: { $0.0 == key }) { fields[i].1 = value } else { fields.append((key, value)) }
        }
        set("runtime.version", .string(runtimeVersion))
        var library: [OrderedJSON] = []
        if let i = fields.firstIndex(where: { $0.0 == "workspace.library" }), case .array(let items) = fields[i].1 { library = items }
        if !library.contains(.string(libraryPath)) { library.append(.string(libraryPath)) }
        set("workspace.library", .array(library))
        if !fields.contains(where: { $0.0 == "workspace.checkThirdParty" }) { set("workspace.checkThirdParty", .bool(false)) }
        // Keys sorted (`$schema` first), as an existing file is read back: a second run
        // writes the same bytes.
        return OrderedJSON.object(fields.sorted { $0.0 < $1.0 }).text() + "\n"
    }
}

/// JSON with its object keys in a chosen order, written indented (files people read).
enum OrderedJSON: Equatable {
    case string(String)
    case bool(Bool)
    case array([OrderedJSON])
    case object([(String, OrderedJSON)])
    /// Any other value, kept as its JSON text.
    case other(String)

    init(_ value: JSONValue) {
        switch value.resolved {
        case .string(let s): self = .string(s)
        case .bool(let b): self = .bool(b)
        case .array(let items): self = .array(items.map(OrderedJSON.init))
        case .object(let o): self = .object(o.keys.sorted().map { ($0, OrderedJSON(o[$0]!)) })
        case let v: self = .other((try? v.jsonText()) ?? "null")
        }
    }

    static func == (a: OrderedJSON, b: OrderedJSON) -> Bool { a.text() == b.text() }

    func text(indent: String = "") -> String {
        let inner = indent + "  "
        switch self {
        case .string(let s): return (try? JSONValue.string(s).jsonText()) ?? "\"\""
        case .bool(let b): return b ? "true" : "false"
        case .other(let t): return t
        case .array(let items):
            if items.isEmpty { return "[]" }
            return "[\n" + items.map { inner + $0.text(indent: inner) }.joined(separator: ",\n") + "\n" + indent + "]"
        case .object(let fields):
            if fields.isEmpty { return "{}" }
            return "{\n" + fields.map { inner + OrderedJSON.string($0.0).text() + ": " + $0.1.text(indent: inner) }
                .joined(separator: ",\n") + "\n" + indent + "}"
        }
    }
}
