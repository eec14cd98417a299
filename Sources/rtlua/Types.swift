import ArgumentParser
import Foundation
import LuaHost

struct Types: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the LuaLS definitions of rtlua's globals as an addon in DIR and point ./.luarc.json at it.",
        discussion: """
        DIR gets library/rtlua.lua (---@meta definitions) and config.json (the addon's settings).
        The .luarc.json of the current folder is created, or has DIR/library added to its
        workspace.library (its other settings are kept). Running it again changes nothing.
        """
    )

    @Argument(help: ArgumentHelp("The addon folder.", valueName: "DIR"))
    var directory: String = TypesInstaller.defaultDirectory

    func validate() throws {
        guard !directory.isEmpty else { throw ValidationError("DIR must not be empty") }
    }

    func run() throws {
        let dir = directory.count > 1 && directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        do {
            let written = try TypesInstaller.install(addon: URL(fileURLWithPath: dir), luarcFolder: URL(fileURLWithPath: "."),
                                                     libraryPath: dir + "/library")
            // As typed: `types/library/rtlua.lua`, `.luarc.json` (without its `./`).
            for url in written { print("wrote \(url.relativePath.hasPrefix("./") ? String(url.relativePath.dropFirst(2)) : url.relativePath)") }
        } catch {
            writeError("rtlua types: \(error)")
            terminate(2)
        }
    }
}

/// Writes the addon (`library/rtlua.lua`, `config.json`) and the `.luarc.json` that points at it.
enum TypesInstaller {
    static let defaultDirectory = "types"

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Returns the files written. `libraryPath` is how the
    /// `.luarc.json` names the addon's library folder (relative to `luarcFolder`, or absolute).
    static func install(addon: URL, luarcFolder: URL, libraryPath: String) throws(Failure) -> [URL] {
        let library = addon.appendingPathComponent(LuaLSWriter.libraryFile)
        let config = addon.appendingPathComponent(LuaLSWriter.configFile)
        let luarc = luarcFolder.appendingPathComponent(LuaLSWriter.luarcFile)
        let existing: String?
        if FileManager.default.fileExists(atPath: luarc.path) {
            do { existing = try String(contentsOf: luarc, encoding: .utf8) } catch {
                throw Failure(description: "cannot read \(luarc.relativePath): \(reason(error))")
            }
        } else {
            existing = nil
        }
        let luarcText: String
        do { luarcText = try LuaLSWriter.luarc(libraryPath: libraryPath, existing: existing) } catch {
            throw Failure(description: "\(luarc.relativePath) \(error)")
        }
        try write(LuaLSWriter.library(), to: library)
        try write(LuaLSWriter.addonConfig(), to: config)
        try write(luarcText, to: luarc)
        return [library, config, luarc]
    }

    private static func write(_ text: String, to url: URL) throws(Failure) {
        // Foundation reports a file in the way of a folder only as "error 512": say it plainly.
        var folder = url.deletingLastPathComponent()
        while folder.path != "/" {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory) {
                guard isDirectory.boolValue else {
                    throw Failure(description: "cannot write \(url.relativePath): \(folder.relativePath) is a file, not a folder")
                }
                break
            }
            folder = folder.deletingLastPathComponent()
        }
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        } catch {
            throw Failure(description: "cannot write \(url.relativePath): \(reason(error))")
        }
    }

    /// Foundation's error text without its "The operation could not be completed" wrapping.
    static func reason(_ error: Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain,
           let text = strerror(Int32(underlying.code)) {
            return String(cString: text)
        }
        if ns.domain == NSPOSIXErrorDomain, let text = strerror(Int32(ns.code)) { return String(cString: text) }
        return ns.localizedDescription
    }
}
