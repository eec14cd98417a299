import CLua
import XCTest
@testable import LuaHost

/// The catalog `rtlua types` writes from must be exactly what a script VM has bound.
final class LuaAPICatalogTests: XCTestCase {
    /// Lists, as `name=type` lines: the globals, the fields of global tables, and the
    /// functions reachable through the `__index` table of every metatable in the registry
    /// (`rtlua.realtime:on`). Run in a script VM and in a VM with only Lua's standard
    /// libraries; what the second also has is Lua's, not rtlua's.
    static let inventoryChunk = """
    local out = {}
    local function add(name, v) out[#out + 1] = name .. "=" .. type(v) end
    for k, v in pairs(_G) do
      if type(k) == "string" then
        add(k, v)
        if type(v) == "table" and v ~= _G then
          for f, fv in pairs(v) do
            if type(f) == "string" then add(k .. "." .. f, fv) end
          end
        end
      end
    end
    for name, mt in pairs(debug.getregistry()) do
      if type(name) == "string" and type(mt) == "table" and type(rawget(mt, "__index")) == "table" then
        for f, fv in pairs(mt.__index) do add(name .. ":" .. f, fv) end
      end
    end
    return table.concat(out, "\\n")
    """

    /// Runs `inventoryChunk` on `L` and returns its names with their Lua types.
    static func inventory(_ L: OpaquePointer) -> [String: String] {
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        precondition(luaL_loadstring(L, inventoryChunk) == LUA_OK, Lua.errorText(L, -1))
        precondition(lua_pcallk(L, 0, 1, 0, 0, nil) == LUA_OK, Lua.errorText(L, -1))
        var names: [String: String] = [:]
        for line in (Lua.string(L, -1) ?? "").split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            names[String(parts[0])] = String(parts[1])
        }
        return names
    }

    /// What Lua's standard libraries alone bind.
    static func standardInventory() -> [String: String] {
        let L = luaL_newstate()!
        defer { lua_close(L) }
        luaL_openlibs(L)
        return inventory(L)
    }

    /// Everything a script VM binds beyond Lua's standard libraries. The one place to add a
    /// new way of binding (for example globals created lazily through `_G`'s metatable,
    /// which `pairs(_G)` does not see: add them here by their list).
    static func boundByRTLua() throws -> [String: String] {
        let harness = BridgeHarness()
        defer { harness.close() }
        let script = harness.script
        let all = try script.eventLoop.submit { () -> [String: String] in
            // Globals and methods are made when first touched: every global is made, and each
            // method the runtime lists is looked up.
            script.settleLazyGlobals()
            // A metric object's metatable is made with the first metric.
            let touch = "local _ = metrics.counter('probe')\nlocal r = realtime\n" + LuaScript.methodNames.map { "local _ = r.\($0)" }.joined(separator: "\n")
            precondition(luaL_loadstring(script.L, touch) == LUA_OK && lua_pcallk(script.L, 0, 0, 0, 0, nil) == LUA_OK,
                         Lua.errorText(script.L, -1))
            return LuaAPICatalogTests.inventory(script.L)
        }.wait()
        let standard = standardInventory()
        // waitFor's waiter is internal: no script sees one.
        return all.filter { standard[$0.key] == nil && !$0.key.hasPrefix(LuaScript.waiterMeta + ":") }
    }

    func testEveryBindingIsInTheCatalogAndEveryCatalogEntryIsBound() throws {
        let bound = try Self.boundByRTLua()
        let catalog = LuaAPICatalog.boundNames
        let missing = bound.keys.filter { catalog[$0] == nil }.sorted()
        let stale = catalog.keys.filter { bound[$0] == nil }.sorted()
        XCTAssertEqual(missing, [], "bound by the runtime but not in LuaAPICatalog")
        XCTAssertEqual(stale, [], "in LuaAPICatalog but not bound by the runtime")
        for (name, type) in catalog where bound[name] != nil {
            XCTAssertEqual(bound[name], type, "the catalog's Lua type of \(name)")
        }
        // The comparison saw the API itself, not an empty list on both sides.
        XCTAssertEqual(bound["rtlua.realtime:getMembers"], "function")
        XCTAssertEqual(bound["rtlua.handle:cancel"], "function")
        XCTAssertEqual(bound["json.null"], "userdata")
    }

    func testEventNameAliasesAreTheProtocolNames() {
        XCTAssertEqual(LuaAPICatalog.presenceEventAlias.values, ["channel:join", "channel:leave", "channel:update"])
        XCTAssertEqual(LuaAPICatalog.userEventAlias.values.count, 7)
        XCTAssertTrue(LuaAPICatalog.userEventAlias.values.allSatisfy { $0.hasPrefix("user:") })
        XCTAssertTrue(LuaAPICatalog.reservedEventAlias.values.contains("connect"))
    }

    func testSuspendingFunctionsAreMarkedAsync() {
        let library = LuaLSWriter.library()
        for call in ["RealtimeManager:getMembers", "sleep", "http.request", "http.get", "http.post"] {
            XCTAssertTrue(asyncMarked(call, in: library), "\(call) is @async")
        }
        XCTAssertFalse(asyncMarked("RealtimeManager:send", in: library))
        XCTAssertFalse(asyncMarked("now", in: library))
    }

    /// Whether the doc block right above `function NAME(` has `---@async`.
    private func asyncMarked(_ name: String, in library: String) -> Bool {
        guard let def = library.range(of: "\nfunction \(name)(") else { return false }
        let before = library[..<def.lowerBound]
        let block = before.components(separatedBy: "\n\n").last ?? ""
        return block.contains("---@async")
    }

    func testGeneratedLibraryIsLuaThatDefinesEveryCatalogName() throws {
        let library = LuaLSWriter.library()
        XCTAssertTrue(library.hasPrefix("---@meta"))

        // Valid Lua: it compiles, and it runs in a plain VM; the globals it defines are the
        // catalog's globals.
        let L = luaL_newstate()!
        defer { lua_close(L) }
        luaL_openlibs(L)
        let before = Self.inventory(L)
        XCTAssertEqual(luaL_loadstring(L, library), LUA_OK, Lua.errorText(L, -1))
        XCTAssertEqual(lua_pcallk(L, 0, 0, 0, 0, nil), LUA_OK, Lua.errorText(L, -1))
        let defined = Set(Self.inventory(L).keys.filter { before[$0] == nil && !$0.contains(".") && !$0.contains(":") })
        XCTAssertEqual(defined, Set(LuaAPICatalog.globals.map(\.name)))

        // Every bound name has its definition: globals and their functions and fields,
        // and every method of a bound object.
        for global in LuaAPICatalog.globals {
            switch global.kind {
            case .function:
                XCTAssertTrue(library.contains("\nfunction \(global.name)("), global.name)
            case .value(let type, _):
                XCTAssertTrue(library.contains("---@type \(type)\n\(global.name) = "), global.name)
            case .table(let className, let fields, let functions):
                XCTAssertTrue(library.contains("---@class \(className)\n"), className)
                for f in functions { XCTAssertTrue(library.contains("\nfunction \(global.name).\(f.name)("), "\(global.name).\(f.name)") }
                for f in fields { XCTAssertTrue(library.contains("---@field \(f.name) \(f.type)"), "\(global.name).\(f.name)") }
            }
        }
        // A global the script declares (`options`) is typed too, as nil until it does.
        XCTAssertTrue(library.contains("---@type rtlua.Options?\noptions = nil\n"), library)
        for cls in LuaAPICatalog.classes {
            XCTAssertTrue(library.contains("---@class \(cls.name)\n"), cls.name)
            for f in cls.fields { XCTAssertTrue(library.contains("---@field \(f.name) \(f.type)"), "\(cls.name).\(f.name)") }
            for f in cls.functions {
                let sep = f.isMethod ? ":" : "."
                XCTAssertNotNil(library.range(of: "\nfunction [A-Za-z_]+\\\(sep)\(f.name)\\(", options: .regularExpression), "\(cls.name)\(sep)\(f.name)")
            }
        }
        for alias in LuaAPICatalog.aliases {
            XCTAssertTrue(library.contains("---@alias \(alias.name)\n"), alias.name)
            for value in alias.values { XCTAssertTrue(library.contains("---| \"\(value)\"\n"), value) }
        }
    }

    func testLuarcKeepsExistingSettingsAndIsIdempotent() throws {
        let fresh = try LuaLSWriter.luarc(libraryPath: "types/library", existing: nil)
        XCTAssertEqual(try LuaLSWriter.luarc(libraryPath: "types/library", existing: fresh), fresh)
        let merged = try LuaLSWriter.luarc(libraryPath: "types/library",
                                           existing: #"{"diagnostics.disable": ["lowercase-global"], "workspace.library": ["other"]}"#)
        XCTAssertTrue(merged.contains("\"lowercase-global\""))
        XCTAssertTrue(merged.contains("\"other\""))
        XCTAssertTrue(merged.contains("\"types/library\""))
        XCTAssertTrue(merged.contains("\"runtime.version\": \"Lua 5.4\""))
        XCTAssertThrowsError(try LuaLSWriter.luarc(libraryPath: "types/library", existing: "{not json"))
        XCTAssertThrowsError(try LuaLSWriter.luarc(libraryPath: "types/library", existing: "[1]"))
    }
}
