#if canImport(Glibc)
import Glibc
#endif
import CLinux
import Foundation
import Synchronization

/// What an event loop drives: a registered descriptor's owner. Every call comes on the loop's thread.
protocol EventLoopClient: AnyObject {
    /// The descriptor is ready (`EPOLLIN`, `EPOLLOUT`, `EPOLLERR`, `EPOLLHUP`, `EPOLLRDHUP` bits).
    func handleEvents(_ events: UInt32)
    /// A deadline this client scheduled with `EventLoop.schedule` was reached (possibly a stale one: compare).
    func deadlineReached(_ deadline: UInt64)
}

/// One thread that waits in `epoll_wait` and does all the socket work of the connections assigned to it: reads,
/// parsing, protocol decisions, writes, timers. It is also a `TaskExecutor`: a request's handler task prefers its
/// connection's loop, so a handler that does not suspend runs from start to response on the thread that read the
/// request, and one that does (a database read) comes back to it. A request then costs one wake-up of this thread
/// instead of the four thread hand-offs of Dispatch sources plus the cooperative pool (Dispatch's manager thread,
/// the source's queue, a pool thread, the queue again).
///
/// Other threads reach the loop with `execute` (a closure) or `enqueue` (a task's job): both append to a locked
/// list and, when the list was empty, write the loop's eventfd. The loop drains the list after each round of
/// events and timers.
///
/// Invariant: `clients`, `timers` and everything a client keeps are touched only on the loop's thread; the
/// pending list is behind a `Mutex`. Hence `@unchecked Sendable`.
///
/// Loops are shared by every server in the process (`EventLoop.shared`, two per core, started on first use) and
/// run for the life of the process, like the cooperative pool itself.
final class EventLoop: TaskExecutor, @unchecked Sendable {
    /// Two loops per core, started on first use (by the first server's `start()`, which reports a failure).
    ///
    /// Why two: with one per core, a busy loop and a busy client thread (or any other busy thread) sharing a core
    /// take turns in whole scheduler slices, and all of that loop's connections wait out the other's slice. On
    /// the two-core benchmark machine, with wrk's two threads beside the server, that made `/healthz`'s p99 at 64
    /// connections 4–5.5 ms against 2.6 ms with two per core, which also served 25–30 % more requests
    /// (Benchmarks/RESULTS.md). It is the thread count Hummingbird runs with here, too (NIO's loops, one per
    /// core, and the cooperative pool's threads for its handlers). Idle loops cost nothing but a sleeping thread.
    static let shared: Result<[EventLoop], SocketError> = Result { () throws(SocketError) -> [EventLoop] in
        var loops: [EventLoop] = []
        for index in 0..<2 * max(1, ProcessInfo.processInfo.activeProcessorCount) {
            loops.append(try EventLoop(name: "http.loop.\(index)"))
        }
        return loops
    }

    private enum Work: @unchecked Sendable {
        case closure(@Sendable () -> Void)
        case job(UnownedJob)
    }

    let name: String
    /// Connections on this loop, of every server (for balancing new ones across loops).
    let connectionCount = Atomic<Int>(0)
    private let epollFD: Int32
    private let wakeFD: Int32
    private let pending = Mutex<[Work]>([])
    /// The loop thread's `pthread_self()`, set before the loop runs anything.
    private let thread = Atomic<UInt>(0)
    private static let nextToken = Atomic<UInt64>(1)

    // Loop-confined.
    private var clients: [UInt64: any EventLoopClient] = [:]
    private var timers = DeadlineHeap()

    private init(name: String) throws(SocketError) {
        self.name = name
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epollFD >= 0 else { throw SocketError(operation: "epoll_create1", errno: errno) }
        wakeFD = eventfd(0, Int32(EFD_CLOEXEC) | Int32(EFD_NONBLOCK))
        guard wakeFD >= 0 else {
            let error = SocketError(operation: "eventfd", errno: errno)
            Glibc.close(epollFD)
            throw error
        }
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.u64 = 0  // token 0: the wake-up descriptor
        guard epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeFD, &event) == 0 else {
            let error = SocketError(operation: "epoll_ctl(eventfd)", errno: errno)
            Glibc.close(epollFD)
            Glibc.close(wakeFD)
            throw error
        }
        let ready = DispatchSemaphore(value: 0)
        let worker = Thread { [self] in
            Thread.current.name = self.name  // on the thread itself, so that it becomes the kernel's name too
            self.thread.store(UInt(pthread_self()), ordering: .releasing)
            ready.signal()
            self.run()
        }
        worker.stackSize = 8 << 20
        worker.start()
        ready.wait()
    }

    /// Whether the caller is on this loop's thread.
    var inEventLoop: Bool { thread.load(ordering: .acquiring) == UInt(pthread_self()) }

    // MARK: - From any thread

    /// Runs `work` on the loop's thread, after the events being handled now.
    func execute(_ work: @escaping @Sendable () -> Void) {
        submit(.closure(work))
    }

    /// Runs `work` now when called on the loop's thread, else like `execute`. On the loop, the caller must not be
    /// inside the event handling of a client that `work` touches (that would re-enter it): handler tasks and
    /// queued closures run between events, and the acceptor only starts a connection that has none yet.
    func run(_ work: @escaping @Sendable () -> Void) {
        if inEventLoop { work() } else { submit(.closure(work)) }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        submit(.job(UnownedJob(job)))
    }

    private func submit(_ work: Work) {
        let wasEmpty = pending.withLock { list in
            list.append(work)
            return list.count == 1
        }
        // On the loop's own thread the list is checked before the next wait; elsewhere the first item wakes it.
        if wasEmpty && !inEventLoop {
            var one: UInt64 = 1
            _ = Glibc.write(wakeFD, &one, 8)
        }
    }

    // MARK: - On the loop's thread

    /// A fresh token for `register` (never reused in the process, so a stale event can never reach a new client).
    static func makeToken() -> UInt64 { nextToken.add(1, ordering: .relaxed).newValue }

    /// Adds `fd` to the loop with interest `events`; its events go to `client`.
    func register(_ client: any EventLoopClient, fd: Int32, token: UInt64, events: UInt32) -> Bool {
        assert(inEventLoop)
        var event = epoll_event()
        event.events = events
        event.data.u64 = token
        guard epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event) == 0 else { return false }
        clients[token] = client
        return true
    }

    /// Changes the interest set of a registered descriptor.
    func modify(fd: Int32, token: UInt64, events: UInt32) {
        assert(inEventLoop)
        var event = epoll_event()
        event.events = events
        event.data.u64 = token
        _ = epoll_ctl(epollFD, EPOLL_CTL_MOD, fd, &event)
    }

    /// Stops watching `fd` (before it is closed); with `forget`, also drops the client (no more timers).
    func deregister(fd: Int32, token: UInt64, forget: Bool) {
        assert(inEventLoop)
        var event = epoll_event()
        _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, &event)
        if forget { clients[token] = nil }
    }

    /// Calls the client's `deadlineReached(deadline)` once `DispatchTime`'s uptime passes `deadline`.
    func schedule(token: UInt64, at deadline: UInt64) {
        assert(inEventLoop)
        timers.push(deadline: deadline, token: token)
        // Entries of closed connections stay until their deadline passes; with a new connection per request
        // they would pile up (rate × header timeout). Past twice the live clients, drop them all at once.
        if timers.count > 2 * clients.count + 1024 {
            timers.removeAll { clients[$0] == nil }
        }
    }

    private func run() {
        let capacity = 256
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: capacity)
        while true {
            let hasWork = pending.withLock { !$0.isEmpty }
            var timeout: Int32 = -1
            if hasWork {
                timeout = 0
            } else if let next = timers.first {
                let now = monotonicNow()
                timeout = next <= now ? 0 : Int32(clamping: (next - now + 999_999) / 1_000_000)
            }
            let count = epoll_wait(epollFD, events, Int32(capacity), timeout)
            if count > 0 {
                for i in 0..<Int(count) {
                    let token = events[i].data.u64
                    if token == 0 {
                        var value: UInt64 = 0
                        _ = Glibc.read(wakeFD, &value, 8)
                    } else if let client = clients[token] {
                        client.handleEvents(events[i].events)
                        // The tasks this connection's input started (its handler) run now, so its response goes
                        // out before the next connection is read: the client gets to work on it sooner.
                        runPending()
                    }
                }
            }
            if !timers.isEmpty {
                let now = monotonicNow()
                while let (deadline, token) = timers.popDue(now: now) {
                    clients[token]?.deadlineReached(deadline)
                }
            }
            runPending()
        }
    }

    /// Runs the work queued so far (not what that work queues: that waits for the next round).
    private func runPending() {
        let work = pending.withLock { list -> [Work] in
            let taken = list
            list.removeAll(keepingCapacity: true)
            return taken
        }
        for item in work {
            switch item {
            case .closure(let closure): closure()
            case .job(let job): job.runSynchronously(on: asUnownedTaskExecutor())
            }
        }
    }
}

/// A binary min-heap of (deadline, token); stale entries are left in and ignored by their clients (and dropped in
/// bulk by `removeAll(where:)`).
struct DeadlineHeap {
    private var items: [(deadline: UInt64, token: UInt64)] = []

    var isEmpty: Bool { items.isEmpty }
    var count: Int { items.count }
    var first: UInt64? { items.first?.deadline }

    /// Removes the entries whose token `stale` says, and restores the heap order (O(n)).
    mutating func removeAll(where stale: (UInt64) -> Bool) {
        items.removeAll { stale($0.token) }
        var index = items.count / 2
        while index > 0 {
            index -= 1
            siftDown(from: index)
        }
    }

    mutating func push(deadline: UInt64, token: UInt64) {
        items.append((deadline, token))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child].deadline < items[parent].deadline else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the earliest entry if it is due at `now`.
    mutating func popDue(now: UInt64) -> (UInt64, UInt64)? {
        guard let top = items.first, top.deadline <= now else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            siftDown(from: 0)
        }
        return (top.deadline, top.token)
    }

    private mutating func siftDown(from start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < items.count && items[left].deadline < items[smallest].deadline { smallest = left }
            if right < items.count && items[right].deadline < items[smallest].deadline { smallest = right }
            if smallest == parent { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
