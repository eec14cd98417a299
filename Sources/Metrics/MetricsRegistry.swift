/// The metrics recorded on one event loop, by every script that runs on it: used only on
/// that loop, so recording takes no lock. At the end of a run the registries of all loops
/// are merged into one `RunSummary`.
///
/// Each metric holds at most `seriesCap` series (distinct tag sets); values with further
/// tag sets go to one series tagged `overflow=true`, and `onCapReached` is called once
/// per metric so the run can say so in the log.
public final class MetricsRegistry: @unchecked Sendable {  // confined to one event loop
    public static let defaultSeriesCap = 1000
    public static let overflowTags: Tags = ["overflow": "true"]

    public let seriesCap: Int
    private let onCapReached: @Sendable (String) -> Void

    /// One series' storage, shared by reference so a hot path can keep it.
    public final class Cell {
        public var stats: SeriesStats
        init(kind: MetricKind) { stats = SeriesStats(kind: kind) }
        @inline(__always) public func add(_ value: Double) { stats.add(value) }
    }

    struct Metric {
        var kind: MetricKind
        var series: [Tags: Cell] = [:]
        var capped = false
    }

    private var metrics: [String: Metric] = [:]

    public init(seriesCap: Int = MetricsRegistry.defaultSeriesCap, onCapReached: @escaping @Sendable (String) -> Void = { _ in }) {
        self.seriesCap = max(1, seriesCap)
        self.onCapReached = onCapReached
    }

    public enum KindMismatch: Error, CustomStringConvertible {
        case mismatch(name: String, existing: MetricKind, asked: MetricKind)
        public var description: String {
            switch self {
            case .mismatch(let name, let existing, let asked): "metric '\(name)' is a \(existing), not a \(asked)"
            }
        }
    }

    /// Declares a metric (a script's `metrics.trend(name)`); declaring it again with the
    /// same kind is fine.
    public func declare(_ name: String, _ kind: MetricKind) throws(KindMismatch) {
        if let m = metrics[name] {
            guard m.kind == kind else { throw .mismatch(name: name, existing: m.kind, asked: kind) }
            return
        }
        metrics[name] = Metric(kind: kind)
    }

    /// The cell of a series, made on first use (or the overflow cell past the cap).
    public func cell(_ name: String, _ kind: MetricKind, _ tags: Tags = [:]) throws(KindMismatch) -> Cell {
        if let cell = metrics[name]?.series[tags] {
            guard cell.stats.kind == kind else { throw .mismatch(name: name, existing: cell.stats.kind, asked: kind) }
            return cell
        }
        var m = metrics[name] ?? Metric(kind: kind)
        guard m.kind == kind else { throw .mismatch(name: name, existing: m.kind, asked: kind) }
        var key = tags
        if m.series.count >= seriesCap, m.series[tags] == nil {
            key = Self.overflowTags
            if !m.capped {
                m.capped = true
                onCapReached(name)
            }
        }
        let cell = m.series[key] ?? Cell(kind: kind)
        m.series[key] = cell
        metrics[name] = m
        return cell
    }

    public func add(_ name: String, _ kind: MetricKind, _ value: Double, tags: Tags = [:]) throws(KindMismatch) {
        try cell(name, kind, tags).add(value)
    }

    /// Built-in series cached by event name, so the message paths do one lookup. Each is
    /// made on first use, so an event only received shows no "sent" series.
    public final class EventCells {
        private unowned let registry: MetricsRegistry
        private let tags: Tags
        init(_ r: MetricsRegistry, _ event: String) {
            registry = r
            tags = ["event": event]
        }
        // Built-in names have fixed kinds: a script cannot declare them (LuaScript+Metrics.swift).
        public lazy var sent = try! registry.cell(Builtin.messagesSent, .counter, tags)
        public lazy var received = try! registry.cell(Builtin.messagesReceived, .counter, tags)
        public lazy var bytesSent = try! registry.cell(Builtin.bytesSent, .counter, tags)
        public lazy var bytesReceived = try! registry.cell(Builtin.bytesReceived, .counter, tags)
        public lazy var delivery = try! registry.cell(Builtin.delivery, .trend, tags)
    }

    private var eventCells: [String: EventCells] = [:]
    /// The last event's cells: a flow of one event name costs a string compare, not a hash.
    private var lastEvent: (name: String, cells: EventCells)?

    public func cells(event: String) -> EventCells {
        if let last = lastEvent, last.name == event { return last.cells }
        if let c = eventCells[event] {
            lastEvent = (event, c)
            return c
        }
        // Past the cap the cells are the overflow ones (`cell` sees to it), and the cache
        // stays bounded too.
        let c = EventCells(self, event)
        if eventCells.count < seriesCap { eventCells[event] = c }
        lastEvent = (event, c)
        return c
    }

    /// Connections of this loop's scripts that are up now (for the live status line).
    public var connected = 0

    /// What the live status line shows, read on the registry's loop.
    public struct Live: Sendable {
        public var connected = 0
        public var sent = 0.0
        public var received = 0.0
        public var checksFailed = 0
        public var errors = 0.0
        public init() {}
        public mutating func add(_ o: Live) {
            connected += o.connected
            sent += o.sent
            received += o.received
            checksFailed += o.checksFailed
            errors += o.errors
        }
    }

    public func live() -> Live {
        var l = Live()
        l.connected = connected
        for cell in (metrics[Builtin.messagesSent]?.series ?? [:]).values { l.sent += cell.stats.sum }
        for cell in (metrics[Builtin.messagesReceived]?.series ?? [:]).values { l.received += cell.stats.sum }
        for cell in (metrics[Builtin.errors]?.series ?? [:]).values { l.errors += cell.stats.sum }
        for cell in (metrics[Builtin.checks]?.series ?? [:]).values { l.checksFailed += cell.stats.adds - cell.stats.passes }
        return l
    }

    /// A copy of everything recorded so far (call it on the registry's loop).
    public func snapshot() -> MetricsSnapshot {
        var s = MetricsSnapshot()
        for (name, m) in metrics {
            s.kinds[name] = m.kind
            for (tags, cell) in m.series { s.series[SeriesKey(name, tags)] = cell.stats }
            if m.capped { s.capped.insert(name) }
        }
        return s
    }
}

/// Every series of one or more registries, merged.
public struct MetricsSnapshot: Sendable {
    public var kinds: [String: MetricKind] = [:]
    public var series: [SeriesKey: SeriesStats] = [:]
    /// Metrics that hit the series cap.
    public var capped: Set<String> = []

    public init() {}

    public mutating func merge(_ other: MetricsSnapshot) throws(MetricsRegistry.KindMismatch) {
        for (name, kind) in other.kinds {
            if let k = kinds[name], k != kind { throw .mismatch(name: name, existing: k, asked: kind) }
            kinds[name] = kind
        }
        for (key, stats) in other.series {
            if series[key] == nil { series[key] = stats } else { series[key]!.merge(stats) }
        }
        capped.formUnion(other.capped)
    }
}
