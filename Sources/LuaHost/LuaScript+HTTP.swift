import CLua
import CurlHTTP
import Metrics
import NIOCore
import RTJSON

/// A coroutine as something a loop task may carry (it is only touched on the script's loop).
struct LuaThread: @unchecked Sendable {
    let state: OpaquePointer
}

/// `http.request{…}`, `http.get`, `http.post`: libcurl off the loop, the coroutine waits.
extension LuaScript {
    func installHTTPGlobals() {
        lua_createtable(L, 0, 3)
        Lua.setFunction(L, -1, "request", httpRequest)
        Lua.setFunction(L, -1, "get", httpGet)
        Lua.setFunction(L, -1, "post", httpPost)
        lua_setglobal(L, "http")
    }

    /// Starts `request` and pauses the calling coroutine until it completes; it then
    /// returns `{status=, headers=, body=}` or `nil, message`. A response too large for what
    /// is left of the script's memory budget raises "not enough memory" there instead: the
    /// transfer stops once the body outgrows it, and the body is checked again before it is
    /// pushed.
    func perform(_ co: OpaquePointer, _ request: HTTPRequest, _ name: String) throws(LuaRaise) -> Int32 {
        var request = request
        // A body larger than the whole budget can never be taken; one that fits the budget
        // but not what is left of it is refused when it arrives (after a collection).
        let budget = account.pointee.budget
        if budget < .max { request.maxResponseBytes = budget }
        try suspend(co, name)
        let thread = LuaThread(state: co)
        let start = NIODeadline.now()
        options.http.execute(request, on: eventLoop).whenComplete { [self] result in
            noteDuration(Builtin.http, since: start)
            wake(thread.state) { co in
                if case .failure(let error as HTTPError) = result, error.isResponseTooLarge {
                    return self.pushResults(co, expected: .max) { _ in 0 }
                }
                let expected: Int
                if case .success(let response) = result { expected = response.body.count } else { expected = 0 }
                return self.pushResults(co, expected: expected) { co in self.pushResponse(co, result) }
            }
        }
        return LuaReturn.yield
    }

    private func pushResponse(_ co: OpaquePointer, _ result: Result<HTTPResponse, Error>) -> Int32 {
        switch result {
        case .success(let response):
            lua_createtable(co, 0, 3)
            lua_pushinteger(co, lua_Integer(response.status))
            lua_setfield(co, -2, "status")
            lua_createtable(co, 0, Int32(clamping: response.headers.count))
            for (name, value) in response.headers {
                let key = name.lowercased()
                lua_getfield(co, -1, key)
                if let earlier = Lua.string(co, -1) {
                    Lua.pop(co)
                    Lua.pushString(co, earlier + ", " + value)
                } else {
                    Lua.pop(co)
                    Lua.pushString(co, value)
                }
                lua_setfield(co, -2, key)
            }
            lua_setfield(co, -2, "headers")
            Lua.pushBytes(co, response.body)
            lua_setfield(co, -2, "body")
            return 1
        case .failure(let error):
            lua_pushnil(co)
            Lua.pushString(co, (error as? HTTPError)?.message ?? "\(error)")
            return 2
        }
    }

    /// A request body from stack index `index`: a string as is, a table as JSON (which
    /// also sets content-type unless the headers name one).
    func requestBody(_ co: OpaquePointer, _ index: Int32, arg: Int32, headers: inout [(String, String)]) throws(LuaRaise) -> [UInt8]? {
        switch lua_type(co, index) {
        case LUA_TNIL, LUA_TNONE: return nil
        case LUA_TSTRING:
            // The copy handed to libcurl is made for the script: it must fit in its budget.
            var len = 0
            _ = lua_tolstring(co, index, &len)
            guard len <= bridge.remainingBudget else { throw LuaRaise.outOfMemory }
            return Lua.bytes(co, index)
        case LUA_TTABLE, LUA_TUSERDATA:
            do {
                let value = try bridge.toJSON(co, index, root: "body")
                if case .binary(let bytes) = value { return bytes }
                let text = try value.jsonText(sortedKeys: true)
                guard text.utf8.count <= bridge.remainingBudget else { throw LuaRaise.outOfMemory }
                if !headers.contains(where: { $0.0.lowercased() == "content-type" }) {
                    headers.append(("Content-Type", "application/json"))
                }
                return Array(text.utf8)
            } catch let error as LuaValueBridge.ConversionError {
                if error.outOfMemory { throw LuaRaise.outOfMemory }
                throw LuaRaise.argument(arg, error.description)
            } catch let error as LuaRaise {
                throw error
            } catch {
                throw LuaRaise.argument(arg, "body: \(error)")
            }
        default:
            throw LuaRaise.argument(arg, "body must be a string or a table, got \(Lua.typeName(co, index))")
        }
    }

    /// Headers from the table at `index` ({name = value}); nil gives none.
    func requestHeaders(_ co: OpaquePointer, _ index: Int32, arg: Int32) throws(LuaRaise) -> [(String, String)] {
        let t = lua_absindex(co, index)
        guard lua_type(co, t) != LUA_TNIL, lua_type(co, t) != LUA_TNONE else { return [] }
        guard lua_type(co, t) == LUA_TTABLE else {
            throw LuaRaise.argument(arg, "headers must be a table, got \(Lua.typeName(co, t))")
        }
        var headers: [(String, String)] = []
        lua_pushnil(co)
        while lua_next(co, t) != 0 {
            guard let name = Lua.string(co, -2), lua_type(co, -1) == LUA_TSTRING || lua_type(co, -1) == LUA_TNUMBER else {
                Lua.pop(co, 2)
                throw LuaRaise.argument(arg, "headers must map names to strings")
            }
            lua_pushvalue(co, -1)
            let value = String(cString: lua_tolstring(co, -1, nil))
            Lua.pop(co, 2)
            headers.append((name, value))
        }
        return headers.sorted { $0.0 < $1.0 }
    }
}

private let httpRequest: LuaSwiftFunction = { L in
    let L = L!
    return luaBody(L) { () throws(LuaRaise) -> Int32 in
        try Lua.checkTable(L, 1)
        let host = LuaScript.host(L)
        lua_settop(L, 1)
        Lua.rawField(L, 1, "url")        // 2
        Lua.rawField(L, 1, "method")     // 3
        Lua.rawField(L, 1, "headers")    // 4
        Lua.rawField(L, 1, "body")       // 5
        Lua.rawField(L, 1, "timeout")    // 6
        guard let url = Lua.string(L, 2) else {
            throw LuaRaise.argument(1, "field 'url' must be a string, got \(Lua.typeName(L, 2))")
        }
        var method = "GET"
        if lua_type(L, 3) != LUA_TNIL {
            guard let m = Lua.string(L, 3) else { throw LuaRaise.argument(1, "field 'method' must be a string") }
            method = m.uppercased()
        }
        var headers = try host.requestHeaders(L, 4, arg: 1)
        let body = try host.requestBody(L, 5, arg: 1, headers: &headers)
        var timeout = 30.0
        if lua_type(L, 6) != LUA_TNIL {
            guard lua_type(L, 6) == LUA_TNUMBER, case let t = lua_tonumberx(L, 6, nil), t.isFinite, t > 0 else {
                throw LuaRaise.argument(1, "field 'timeout' must be a positive number of seconds")
            }
            timeout = t
        }
        let request = HTTPRequest(url: url, method: method, headers: headers, body: body, timeout: timeout)
        return try host.perform(L, request, "http.request")
    }
}

private let httpGet: LuaSwiftFunction = { L in
    let L = L!
    return luaBody(L) { () throws(LuaRaise) -> Int32 in
        let url = try Lua.checkString(L, 1)
        let host = LuaScript.host(L)
        let headers = try host.requestHeaders(L, 2, arg: 2)
        return try host.perform(L, HTTPRequest(url: url, method: "GET", headers: headers), "http.get")
    }
}

private let httpPost: LuaSwiftFunction = { L in
    let L = L!
    return luaBody(L) { () throws(LuaRaise) -> Int32 in
        let url = try Lua.checkString(L, 1)
        let host = LuaScript.host(L)
        var headers = try host.requestHeaders(L, 3, arg: 3)
        let body = try host.requestBody(L, 2, arg: 2, headers: &headers)
        return try host.perform(L, HTTPRequest(url: url, method: "POST", headers: headers, body: body), "http.post")
    }
}
