// libFuzzer target "cron": schedule specs as a script passes them to `schedule(spec, fn)`,
// parsed and, when accepted, asked for fire times (in UTC and in the local zone). A fire
// time must come after the time asked about. Built by scripts/fuzz with swiftc over
// Sources/LuaHost/CronSchedule.swift alone.

func cronFuzzOne(_ input: UnsafeBufferPointer<UInt8>) {
    let spec = String(decoding: input, as: UTF8.self)
    guard let schedule = try? CronSchedule(spec) else { return }
    for after in [0.0, 1_796_012_441.5, -86_400.0 * 365 * 30] {
        if let t = schedule.nextFire(after: after, timeZoneOffsetSeconds: 0) {
            if !(t > after) { fatalError("cron: '\(spec)' fires at \(t), not after \(after)") }
        }
    }
    if let t = schedule.nextFire(after: 1_796_012_441.5), !(t > 1_796_012_441.5) {
        fatalError("cron: '\(spec)' fires at \(t) local time, not after the time asked about")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func LLVMFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    cronFuzzOne(UnsafeBufferPointer(start: data, count: size))
    return 0
}
