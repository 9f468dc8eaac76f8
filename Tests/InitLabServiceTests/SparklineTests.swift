import Testing
import InitCore
import InitLabContract

@Suite(.offCooperativePool) struct SparklineTests {
    @Test func logScaledRamp() {
        let values = (0..<8).map { pow10($0) }
        #expect(Sparkline.render(values) == "▁▂▃▄▅▆▇█")
        // Halving each layer is a steady ramp downwards on a log scale.
        #expect(Sparkline.render((0..<8).map { 1 / pow10($0) }) == "█▇▆▅▄▃▂▁")
    }

    @Test func nonFiniteIsBang() {
        #expect(Sparkline.render([1, 10, .infinity, .nan]) == "▁█!!")
        #expect(Sparkline.render([1, nil, 100] as [Double?]) == "▁!█")
    }

    @Test func flatAndZero() {
        #expect(Sparkline.render([2, 2, 2]) == "▅▅▅", "flat: the middle block (index 4 of 8)")
        #expect(Sparkline.render([0, 1, 10]) == "▁▁█")
        #expect(Sparkline.render([Double]()) == "")
    }

    @Test func longInputsAreSampledKeepingTheLastValue() {
        var values = [Double](repeating: 1, count: 1000)
        values[999] = .nan
        let line = Sparkline.render(values, maxWidth: 60)
        #expect(line.count == 60, "every 17th value (59) plus the last")
        #expect(line.last == "!")
    }

    private func pow10(_ n: Int) -> Double { (0..<n).reduce(1.0) { r, _ in r * 10 } }
}
