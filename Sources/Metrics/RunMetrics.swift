import NIOConcurrencyHelpers

/// The metrics of one run: one registry per event loop (made up front, so a script finds
/// its loop's registry without a lock), the delivery clock shared by the run's bots, and
/// whether the built-in metrics are recorded at all.
public final class RunMetrics: Sendable {
    /// Record the built-in message, connection and duration metrics (off: the hooks cost
    /// one nil check).
    public let builtins: Bool
    public let delivery: DeliveryClock
    /// `--delivery-stamp`: message objects carry their send time (DeliveryStamp).
    public let deliveryStamp: Bool
    private let registries: [ObjectIdentifier: MetricsRegistry]
    private let capNotes = NIOLockedValueBox<Set<String>>([])

    /// `loops`: the identities of the event loops scripts will run on. `onCapReached` is told
    /// once per metric, whichever loop hit the cap first.
    public init(loops: [ObjectIdentifier], builtins: Bool, seriesCap: Int = MetricsRegistry.defaultSeriesCap,
                deliveryStamp: Bool = false, onCapReached: @escaping @Sendable (String) -> Void) {
        self.builtins = builtins
        self.delivery = DeliveryClock()
        self.deliveryStamp = deliveryStamp
        let notes = capNotes
        let once: @Sendable (String) -> Void = { name in
            if notes.withLockedValue({ $0.insert(name).inserted }) { onCapReached(name) }
        }
        var r: [ObjectIdentifier: MetricsRegistry] = [:]
        for loop in loops { r[loop] = MetricsRegistry(seriesCap: seriesCap, onCapReached: once) }
        self.registries = r
    }

    /// The registry of `loop` (nil for a loop the run was not given).
    public func registry(for loop: ObjectIdentifier) -> MetricsRegistry? { registries[loop] }

    /// The loops whose registries are to be collected (each on its own loop).
    public var loops: [ObjectIdentifier] { Array(registries.keys) }
}
