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
/// The helpers are threads of the pool's own (named `initlab-compute`), created on first use, never Dispatch work
/// items: on Linux, Dispatch's global queues and Swift's cooperative pool share one root pool as wide as the
/// machine has cores, and a core that borrowed it for seconds of arithmetic would starve the HTTP handlers and
/// every other task of the process. `DispatchQueue.concurrentPerform` also wakes sleeping workers for every call,
/// which costs tens of microseconds; a 256³ product on two cores takes ~170 µs and needs two such rounds, and a
/// depth-100 experiment makes thousands. So after a round each helper keeps polling for the next one for
/// `spinNanoseconds` (as OpenBLAS's threads do), which hands back-to-back rounds out in well under a microsecond,
/// and then parks on a semaphore, so an idle process burns no CPU. Iterations are handed out dynamically, so
/// callers that need results independent of the thread count must make each iteration's output independent of
/// which thread runs it (all callers here do).
///
/// One caller at a time owns the pool (the service runs several experiments at once). A caller that finds it
/// busy, or a nested call from inside a body, runs its iterations serially on its own thread: the owner already
/// keeps every core the pool may use busy.
public final class ComputePool: @unchecked Sendable {
    /// The process-wide pool (helpers are created on first use, as many as the largest width asked).
    public static let shared = ComputePool()

    /// How long a helper keeps polling for the next round before it parks.
    public static let spinNanoseconds: UInt64 = 200_000

    /// The helpers' thread name (Linux allows 15 characters).
    public static let threadName = "initlab-compute"

    /// At most one participant per online core: more would poll while others need the core (a caller may
    /// ask for more threads than cores; results do not depend on the count).
    static let maxWidth = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

    /// A helper's state. Transitions: offline → assigned (owner; starts the thread), parked → assigned (owner;
    /// signals the semaphore), idle → assigned (owner), assigned → running (helper), running → idle (helper),
    /// assigned → idle (owner revokes an assignment not yet taken), idle → parked (helper, when its spin budget is
    /// spent; it then waits on the semaphore, which is signalled exactly once per parked → assigned).
    enum State: Int {
        case offline = 0, idle, assigned, running, parked
    }

    final class Helper: Sendable {
        let state = Atomic<Int>(State.offline.rawValue)
        let wake = DispatchSemaphore(value: 0)
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
        guard width > 1, busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            for i in 0..<iterations { body(i) }
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
                if old == State.parked.rawValue {
                    helper.wake.signal()
                } else if old == State.offline.rawValue, !startThread(for: helper) {
                    // No thread (the system refused one): the owner does this helper's share.
                    helper.state.store(State.offline.rawValue, ordering: .releasing)
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

    /// Starts a detached thread running `helperLoop(helper)`; false when the system refuses one.
    private func startThread(for helper: Helper) -> Bool {
        let start = Unmanaged.passRetained(HelperStart(pool: self, helper: helper)).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        var thread = pthread_t()
        let rc = pthread_create(&thread, &attributes, { raw in
            guard let raw else { return nil }
            let start = Unmanaged<HelperStart>.fromOpaque(raw).takeRetainedValue()
            initlab_set_thread_name(ComputePool.threadName)
            start.pool.helperLoop(start.helper)
        }, start)
        if rc != 0 { Unmanaged<HelperStart>.fromOpaque(start).release() }
        return rc == 0
    }

    /// A helper thread's life: runs assigned rounds, polls between them, parks when idle too long.
    private func helperLoop(_ helper: Helper) -> Never {
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
                    expected: State.idle.rawValue, desired: State.parked.rawValue, ordering: .acquiringAndReleasing
                ).exchanged {
                    helper.wake.wait()
                    idleSince = DispatchTime.now().uptimeNanoseconds
                    polls = 0
                }
            }
        }
    }
}

/// What a new helper thread needs, passed through `pthread_create`'s context pointer.
private final class HelperStart {
    let pool: ComputePool
    let helper: ComputePool.Helper

    init(pool: ComputePool, helper: ComputePool.Helper) {
        self.pool = pool
        self.helper = helper
    }
}

/// `ComputePool.shared.run`: the loop every parallel section of the core uses.
@inline(__always)
func parallelFor(iterations: Int, threads: Int, _ body: (Int) -> Void) {
    ComputePool.shared.run(iterations: iterations, threads: threads, body)
}

/// Chunks for an elementwise pass (a fill, an activation) over `count` values: up to four per thread, so that
/// the pool's dynamic hand-out evens out a thread that starts late or runs slower, and at least 8 Ki values
/// each (a training step's activation at batch 64 and width 256, 16 Ki values, is then two chunks instead of one
/// thread's pass while the other waits). One means serial.
func elementwiseChunks(_ count: Int, threads: Int) -> Int {
    threads <= 1 ? 1 : max(1, min(4 * threads, count / 8_192))
}

/// `body(start, length)` over `count` elements in `elementwiseChunks` chunks on the pool: for passes whose every
/// element is independent (an activation, its derivative, an optimizer update), so the split changes nothing.
func elementwise(_ count: Int, threads: Int, _ body: (Int, Int) -> Void) {
    let chunks = elementwiseChunks(count, threads: threads)
    parallelFor(iterations: chunks, threads: threads) { c in
        let (start, length) = elementwiseChunk(c, of: chunks, count: count)
        body(start, length)
    }
}

/// Chunk `chunk` of `chunks` near-equal chunks of `count` elements, as `elementwise` splits them: (start, length).
func elementwiseChunk(_ chunk: Int, of chunks: Int, count: Int) -> (start: Int, length: Int) {
    let start = count * chunk / chunks
    return (start, count * (chunk + 1) / chunks - start)
}
