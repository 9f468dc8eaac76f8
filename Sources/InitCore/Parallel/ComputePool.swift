import CPUHints
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The parallel loop of the compute core: `body(i)` for i in 0..<iterations on up to `threads` threads, the
/// calling thread included, returning when every iteration is done.
///
/// `DispatchQueue.concurrentPerform` wakes sleeping Dispatch workers for every call, which costs tens of
/// microseconds; a 256³ product on two cores takes ~170 µs and needs two such rounds, and a depth-100
/// experiment makes thousands. The pool's helpers are Dispatch work items too, but after a round each keeps
/// polling for the next one for `spinNanoseconds` before its work item returns (as OpenBLAS's threads
/// do), so back-to-back rounds are handed out in well under a microsecond, and an idle process holds no
/// thread. Iterations are handed out dynamically, so callers that need results independent of the thread
/// count must make each iteration's output independent of which thread runs it (all callers here do).
///
/// One caller at a time owns the pool (the service runs several experiments at once); a caller that finds
/// it busy, or a nested call from inside a body, runs on `concurrentPerform` instead.
public final class ComputePool: @unchecked Sendable {
    /// The process-wide pool (helpers are created on first use, as many as the largest width asked).
    public static let shared = ComputePool()

    /// How long a helper keeps polling for the next round before its Dispatch work item returns.
    public static let spinNanoseconds: UInt64 = 200_000

    /// At most one participant per online core: more would poll while others need the core (a caller may
    /// ask for more threads than cores; results do not depend on the count).
    static let maxWidth = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

    /// A helper's state. Transitions: offline → assigned (owner; schedules a work item), assigned → running
    /// (helper), running → idle (helper), assigned → idle (owner revokes an assignment not yet taken),
    /// idle → assigned (owner), idle → offline (helper, when its spin budget is spent; its work item returns).
    enum State: Int {
        case offline = 0, idle, assigned, running
    }

    final class Helper: Sendable {
        let state = Atomic<Int>(State.offline.rawValue)
    }

    /// Set by the owner with compare-exchange; guards the fields below.
    private let busy = Atomic<Bool>(false)
    /// The next iteration to hand out in the current round.
    private let next = Atomic<Int>(0)

    // Owner-confined: written only by the thread that holds `busy`, while no helper is `assigned` or
    // `running`; helpers read `body` and `count` only while `running`, which they enter by an acquiring
    // compare-exchange that pairs with the owner's releasing exchange to `assigned` after the writes.
    private var helpers: [Helper] = []
    private var body: ((Int) -> Void)? = nil
    private var count = 0

    init() {}

    /// Runs `body(i)` for every i in 0..<iterations on up to `threads` threads; see the type's documentation.
    public func run(iterations: Int, threads: Int, _ body: (Int) -> Void) {
        let width = min(threads, iterations, Self.maxWidth)
        if width <= 1 {
            for i in 0..<iterations { body(i) }
            return
        }
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            withoutActuallyEscaping(body) { body in
                let box = UncheckedBox(body)
                DispatchQueue.concurrentPerform(iterations: iterations) { i in box.value(i) }
            }
            return
        }
        defer { busy.store(false, ordering: .releasing) }
        while helpers.count < width - 1 { helpers.append(Helper()) }
        let team = helpers[0..<(width - 1)]
        withoutActuallyEscaping(body) { body in
            self.body = body
            count = iterations
            next.store(0, ordering: .relaxed)
            for helper in team {
                let old = helper.state.exchange(State.assigned.rawValue, ordering: .acquiringAndReleasing)
                if old == State.offline.rawValue {
                    DispatchQueue.global(qos: .userInitiated).async { @Sendable in self.helperLoop(helper) }
                }
            }
            drain()
            for helper in team {
                // Revoke an assignment that no helper has taken yet; wait for one that is running.
                if helper.state.compareExchange(
                    expected: State.assigned.rawValue, desired: State.idle.rawValue, ordering: .acquiringAndReleasing
                ).exchanged { continue }
                while helper.state.load(ordering: .acquiring) == State.running.rawValue { initlab_cpu_relax() }
            }
            self.body = nil
        }
    }

    /// Takes iterations of the current round until none is left.
    private func drain() {
        guard let body else { return }
        let n = count
        while true {
            let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
            if i >= n { return }
            body(i)
        }
    }

    /// A helper's Dispatch work item: runs assigned rounds, polls between them, returns when idle too long.
    private func helperLoop(_ helper: Helper) {
        var idleSince = DispatchTime.now().uptimeNanoseconds
        var polls = 0
        while true {
            if helper.state.load(ordering: .relaxed) == State.assigned.rawValue,
               helper.state.compareExchange(
                   expected: State.assigned.rawValue, desired: State.running.rawValue, ordering: .acquiringAndReleasing
               ).exchanged
            {
                drain()
                helper.state.store(State.idle.rawValue, ordering: .releasing)
                idleSince = DispatchTime.now().uptimeNanoseconds
                polls = 0
                continue
            }
            initlab_cpu_relax()
            polls &+= 1
            if polls & 255 == 0, DispatchTime.now().uptimeNanoseconds &- idleSince > Self.spinNanoseconds {
                if helper.state.compareExchange(
                    expected: State.idle.rawValue, desired: State.offline.rawValue, ordering: .acquiringAndReleasing
                ).exchanged { return }
            }
        }
    }
}

/// `ComputePool.shared.run`: the loop every parallel section of the core uses.
@inline(__always)
func parallelFor(iterations: Int, threads: Int, _ body: (Int) -> Void) {
    ComputePool.shared.run(iterations: iterations, threads: threads, body)
}

/// Chunks for an elementwise pass (a fill, an activation) over `count` values: up to four per thread, so that
/// the pool's dynamic hand-out evens out a thread that starts late or runs slower, and at least 16 Ki values
/// each. One means serial.
func elementwiseChunks(_ count: Int, threads: Int) -> Int {
    threads <= 1 ? 1 : max(1, min(4 * threads, count / 16_384))
}
