import Foundation
import Dynamics
import Linear

/// Timing of one BPTT pass (forward + backward), the figure the issue asks for.
public enum TrainBench {
    public struct Result: Sendable {
        public var cell: CellKind
        public var hidden: Int
        public var steps: Int
        public var batch: Int
        public var forwardBest: Double
        public var backwardBest: Double
        public var totalBest: Double
        public var totalMedian: Double
        /// Best CPU time of this thread for one pass: the fairer figure when other processes share the cores.
        public var cpuBest: Double
        public var repetitions: Int
        /// Stacked layers (1: the single-layer pass).
        public var layers = 1
    }

    /// Times `repetitions` passes on an adding-problem batch (input size 2, loss at step T); `layers` > 1 times
    /// a stack's pass (`StackedBPTT`).
    public static func run(cell: CellKind, hidden: Int, steps: Int, batch: Int, repetitions: Int, seed: UInt64 = 0,
                           layers: Int = 1) throws -> Result {
        try Check.positive(hidden, "--hidden")
        try Check.positive(batch, "--batch")
        try Check.positive(repetitions, "--repetitions")
        guard steps >= 2 else { throw GradLabError.usage("--steps must be at least 2 for the adding problem (got \(steps))") }
        retainFreedMemory()
        let task = AddingProblem(steps: steps)
        let net = RNN.initialized(kind: cell, input: task.inputSize, hidden: hidden, output: 1, seed: seed)
        var rng = SeededRNG(seed: seed)
        let b = task.batch(size: batch, rng: &rng)
        var fw: [Double] = [], bw: [Double] = [], total: [Double] = [], cpu: [Double] = []
        func threadCPU() -> Double {
            var ts = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
            return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
        }
        let stack = layers > 1 ? StackedRNN.initialized(kind: cell, input: task.inputSize, hidden: hidden, output: 1,
                                                        layers: layers, seed: seed) : nil
        _ = BPTT.gradient(net, b)   // warm-up (page faults, buffers)
        if let stack { _ = StackedBPTT.gradient(stack, b) }
        for _ in 0..<repetitions {
            let c0 = threadCPU()
            let t0 = DispatchTime.now().uptimeNanoseconds
            let loss: Double
            let t1: UInt64
            if let stack {
                let fp = StackedForwardPass(net: stack, batch: b)
                t1 = DispatchTime.now().uptimeNanoseconds
                loss = StackedBPTT.backward(fp).loss
            } else {
                let fp = ForwardPass(net: net, batch: b)
                t1 = DispatchTime.now().uptimeNanoseconds
                loss = BPTT.backward(fp).loss
            }
            let t2 = DispatchTime.now().uptimeNanoseconds
            cpu.append(threadCPU() - c0)
            precondition(loss.isFinite)
            fw.append(Double(t1 - t0) / 1e9)
            bw.append(Double(t2 - t1) / 1e9)
            total.append(Double(t2 - t0) / 1e9)
        }
        let sorted = total.sorted()
        return Result(cell: cell, hidden: hidden, steps: steps, batch: batch, forwardBest: fw.min()!, backwardBest: bw.min()!,
                      totalBest: sorted[0], totalMedian: sorted[sorted.count / 2], cpuBest: cpu.min()!, repetitions: repetitions,
                      layers: layers)
    }

    public static func report(_ r: Result) -> String {
        "BPTT pass, \(r.cell.rawValue)\(r.layers > 1 ? " × \(r.layers) layers" : "") n=\(r.hidden) T=\(r.steps) batch \(r.batch) (\(r.repetitions) repetitions, one thread, "
            + "deterministic \(DetLinear.path) kernel):\n"
            + "  forward \(ms(r.forwardBest)) + backward \(ms(r.backwardBest)); total best \(ms(r.totalBest)), median \(ms(r.totalMedian)); CPU time best \(ms(r.cpuBest))"
    }

    static func ms(_ s: Double) -> String { Format.fixed(s * 1000, 1) + " ms" }
}
