import Testing

@testable import HTTPServer

/// The event loop's timer heap: due entries come out earliest first, and a bulk removal of stale entries keeps
/// the order of the rest.
@Suite("Event loop deadlines")
struct DeadlineHeapTests {
    @Test func dueEntriesComeOutInDeadlineOrder() {
        var heap = DeadlineHeap()
        var generator = SystemRandomNumberGenerator()
        var pushed: [(UInt64, UInt64)] = []
        for token in 1...1000 as ClosedRange<UInt64> {
            let deadline = UInt64.random(in: 0..<10_000, using: &generator)
            heap.push(deadline: deadline, token: token)
            pushed.append((deadline, token))
        }
        #expect(heap.first == pushed.map(\.0).min())
        // Nothing is due before the earliest deadline.
        if let earliest = heap.first, earliest > 0 { #expect(heap.popDue(now: earliest - 1) == nil) }
        var popped: [UInt64] = []
        while let (deadline, _) = heap.popDue(now: 4_999) { popped.append(deadline) }
        #expect(popped == pushed.map(\.0).filter { $0 <= 4_999 }.sorted())
        #expect(heap.count == pushed.filter { $0.0 > 4_999 }.count)
    }

    @Test func removingStaleEntriesKeepsTheOrder() {
        var heap = DeadlineHeap()
        for token in 1...500 as ClosedRange<UInt64> {
            heap.push(deadline: (token * 7919) % 1000, token: token)
        }
        heap.removeAll { $0 % 2 == 1 }
        #expect(heap.count == 250)
        var popped: [(UInt64, UInt64)] = []
        while let entry = heap.popDue(now: .max) { popped.append(entry) }
        #expect(popped.allSatisfy { $0.1 % 2 == 0 })
        #expect(popped.map(\.0) == popped.map(\.0).sorted())
        #expect(popped.count == 250)
    }
}
