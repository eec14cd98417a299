import CLua
import Foundation
import NIOCore
import NIOPosix
import RTJSON
import XCTest
@testable import LuaHost

/// Collects what a script prints and logs.
final class CapturedOutput: @unchecked Sendable {  // guarded by `lock`
    private let lock = NSLock()
    private var out: [UInt8] = []
    private var err = ""

    var stdout: String { lock.withLock { String(decoding: out, as: UTF8.self) } }
    var stderr: String { lock.withLock { err } }
    var lines: [String] { stdout.split(separator: "\n").map(String.init) }

    var output: ScriptOutput {
        ScriptOutput(stdout: { bytes in self.lock.withLock { self.out += bytes } },
                     stderr: { text in self.lock.withLock { self.err += text } })
    }
}

struct ScriptRun {
    var end: ScriptEnd
    var output: CapturedOutput
    var path: String
    var stdout: String { output.stdout }
    var stderr: String { output.stderr }
    var lines: [String] { output.lines }
    /// The lines with the script's temp directory taken out of `/tmp/…/test.lua:3:`.
    var relativeLines: [String] {
        let dir = String(path.dropLast(path.split(separator: "/").last!.count))
        return lines.map { $0.replacingOccurrences(of: dir, with: "") }
    }
}

/// Writes `source` to a fresh temp directory as `name` and returns its path.
func writeScript(_ source: String, name: String = "test.lua") throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("luahost-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let path = dir.appendingPathComponent(name).path
    try source.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// Runs a script to its end; a script still running after `timeout` seconds is stopped
/// (the test then sees `.stopped`), so no test hangs.
func runScript(_ source: String, name: String = "test.lua", args: [String] = [], timeout: Int64 = 20,
               configure: (inout ScriptOptions) -> Void = { _ in }) throws -> ScriptRun {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    defer { try? group.syncShutdownGracefully() }
    let captured = CapturedOutput()
    let path = try writeScript(source, name: name)
    var options = ScriptOptions(path: path, args: args, output: captured.output)
    configure(&options)
    let loop = group.next()
    let script = LuaScript(options: options, eventLoop: loop)
    script.start()
    let guardTask = loop.scheduleTask(in: .seconds(timeout)) { script.stop() }
    let end = try script.ended.wait()
    guardTask.cancel()
    return ScriptRun(end: end, output: captured, path: path)
}

/// A script VM that is never started, for driving the value bridge directly on its loop.
final class BridgeHarness {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let script: LuaScript

    init() {
        script = LuaScript(options: ScriptOptions(path: "bridge.lua", output: CapturedOutput().output), eventLoop: group.next())
    }

    func close() {
        script.stop()
        _ = try? script.ended.wait()
        try? group.syncShutdownGracefully()
    }

    /// Evaluates `return <expression>` and converts the result to JSON (root name "message").
    func toJSON(_ expression: String) throws -> Result<JSONValue, LuaValueBridge.ConversionError> {
        let script = self.script
        return try script.eventLoop.submit { () -> Result<JSONValue, LuaValueBridge.ConversionError> in
            let L = script.L
            let top = lua_gettop(L)
            defer { lua_settop(L, top) }
            precondition(luaL_loadstring(L, "return " + expression) == LUA_OK, Lua.errorText(L, -1))
            precondition(lua_pcallk(L, 0, 1, 0, 0, nil) == LUA_OK, Lua.errorText(L, -1))
            do throws(LuaValueBridge.ConversionError) {
                return .success(try script.bridge.toJSON(L, -1, root: "message"))
            } catch {
                return .failure(error)
            }
        }.wait()
    }

    /// Evaluates `return <expression>` and writes the result with the one-pass writer
    /// (`writeJSONText`); also returns whether the Lua stack was left as it was.
    func directJSON(_ expression: String) throws -> (text: String?, stackKept: Bool) {
        let script = self.script
        return try script.eventLoop.submit { () -> (String?, Bool) in
            let L = script.L
            let top = lua_gettop(L)
            defer { lua_settop(L, top) }
            precondition(luaL_loadstring(L, "return " + expression) == LUA_OK, Lua.errorText(L, -1))
            precondition(lua_pcallk(L, 0, 1, 0, 0, nil) == LUA_OK, Lua.errorText(L, -1))
            var out: [UInt8] = []
            let text = script.bridge.writeJSONText(L, -1, into: &out) ? String(decoding: out, as: UTF8.self) : nil
            return (text, lua_gettop(L) == top + 1)
        }.wait()
    }

    /// Pushes `value` as global `v`, then evaluates `return tostring(<expression>)`.
    func fromJSON(_ value: JSONValue, _ expression: String) throws -> String {
        let script = self.script
        return try script.eventLoop.submit { () -> String in
            let L = script.L
            let top = lua_gettop(L)
            defer { lua_settop(L, top) }
            script.bridge.push(L, value)
            lua_setglobal(L, "v")
            precondition(luaL_loadstring(L, "return tostring(" + expression + ")") == LUA_OK, Lua.errorText(L, -1))
            precondition(lua_pcallk(L, 0, 1, 0, 0, nil) == LUA_OK, Lua.errorText(L, -1))
            return Lua.string(L, -1) ?? "?"
        }.wait()
    }
}
