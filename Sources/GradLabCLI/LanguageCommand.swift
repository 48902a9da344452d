import ArgumentParser
import Dynamics
import Foundation
import GradLab

/// `gradlab language`: "Jane walked into the room. John walked in too. … Jane said hi to ___" — word-level
/// RNNs on a story corpus whose answer lies a controlled number of words back.
struct LanguageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "language",
        abstract: "Train word-level RNNs on \"A walked into the room. B walked in too. … A said hi to ___\": accuracy by distance, saliency of each word.",
        discussion: """
        Stories: "<A> walked into the room . <B> walked in too . <distractor
        sentences> <A> said hi to ___"; the answer is always B. The distance
        (words between B and the blank, from --min-distance ≥ 8 to
        --max-distance) is uniform per story. Inputs are one-hot words (W_ih is
        the embedding), padded at the front to the longest story; the readout
        picks a name at the blank (cross-entropy). Without memory of the first
        two sentences the best guess is uniform over the names other than A:
        loss ln(names − 1), accuracy 1/(names − 1).

        Each cell is trained with Adam and norm clipping on fresh stories, then
        evaluated on held-out stories per distance bucket (--bucket words wide).
        --out/--accuracy-chart draws accuracy against distance; --saliency-chart
        draws ‖∂L/∂x_t‖ for every word of one story (distance
        --saliency-distance, default --max-distance). --story prints sample
        stories and trains nothing.

        Examples:
          gradlab language --story
          gradlab language --cells tanh,gru,lstm --hidden 32 --iters 1000 \\
            --accuracy-chart accuracy.png --saliency-chart saliency.png \\
            --csv accuracy.csv --json language.json
        """)

    @Option(name: [.customLong("cells"), .customLong("cell")], help: ArgumentHelp("Comma-separated cells: \(TrainCell.allValueStrings.joined(separator: ", ")).", valueName: "list"))
    var cells = CellList(argument: "tanh,gru,lstm")!
    @Option(parsing: .unconditional, help: "Hidden units n.") var hidden = 32
    @Option(name: .customLong("iters"), parsing: .unconditional, help: "Training iterations per cell (one batch of stories each).") var iterations = 1000
    @Option(parsing: .unconditional, help: "Stories per batch.") var batch = 32
    @Option(parsing: .unconditional, help: "Adam learning rate.") var lr = 0.003
    @Option(parsing: .unconditional, help: ArgumentHelp("Norm clipping: rescale g when ‖g‖₂ > c (default 1).", valueName: "c")) var clipNorm: Double?
    @Flag(help: "Train without clipping.") var noClip = false
    @Option(parsing: .unconditional, help: "Random seed: the same seed gives identical numbers.") var seed: UInt64 = 0
    @Option(parsing: .unconditional, help: "Shortest distance (words between B and the blank), at least 8.") var minDistance = 8
    @Option(parsing: .unconditional, help: "Longest distance; stories are padded to it (T = max-distance + 7).") var maxDistance = 39
    @Option(parsing: .unconditional, help: "How many names the stories use (2–8; the classes).") var names = 8
    @Option(parsing: .unconditional, help: "LSTM forget-gate bias at initialisation (as in train).") var forgetBias = 1.0
    @Option(parsing: .unconditional, help: "Width of a distance bucket of the held-out accuracy, in words.") var bucket = 4
    @Option(parsing: .unconditional, help: "Held-out stories per distance bucket.") var evalPerBucket = 64
    @Option(parsing: .unconditional, help: "Distance of the story whose saliency is shown (default: --max-distance).") var saliencyDistance: Int?
    @Option(parsing: .unconditional, help: "Cells trained at once (default: cores, at most 2); the numbers do not depend on it.") var jobs: Int?
    @Flag(help: "Print sample stories (shortest, middle, longest distance) and the corpus, then stop.") var story = false

    @Option(help: ArgumentHelp("Accuracy-against-distance chart (.png/.svg/.pdf); same as --accuracy-chart.", valueName: "file")) var out: String?
    @Option(help: ArgumentHelp("Accuracy-against-distance chart.", valueName: "file")) var accuracyChart: String?
    @Option(help: ArgumentHelp("Saliency chart: ‖∂L/∂x_t‖ per word of one story.", valueName: "file")) var saliencyChart: String?
    @Option(help: ArgumentHelp("Accuracy per cell and distance bucket (CSV).", valueName: "file")) var csv: String?
    @Option(help: ArgumentHelp("Saliency per cell and word (CSV).", valueName: "file")) var saliencyCsv: String?
    @Option(help: ArgumentHelp("Everything, with the parameters (JSON).", valueName: "file")) var json: String?
    @Option(help: ArgumentHelp("Chart title, in place of the built-in one (on every chart this run writes).", valueName: "text")) var title: String?
    @OptionGroup var chartOptions: ChartOptions

    func options() throws -> LanguageOptions {
        var o = LanguageOptions()
        o.cells = try cells.kinds()
        o.hidden = hidden; o.iterations = iterations; o.batchSize = batch; o.learningRate = lr
        if noClip && clipNorm != nil { throw GradLabError.usage("--no-clip contradicts --clip-norm") }
        o.clipNorm = noClip ? nil : (clipNorm ?? 1)
        o.seed = seed; o.minDistance = minDistance; o.maxDistance = maxDistance; o.nameCount = names
        o.forgetBias = forgetBias; o.bucketWidth = bucket; o.evalPerBucket = evalPerBucket
        o.saliencyDistance = saliencyDistance
        if let j = jobs { o.jobs = j }
        try o.validate()
        return o
    }

    func run() throws {
        let o = try options()
        let outputs: [(String, String?)] = [("--out", out), ("--accuracy-chart", accuracyChart), ("--saliency-chart", saliencyChart),
                                            ("--csv", csv), ("--saliency-csv", saliencyCsv), ("--json", json)]
        if story {
            if let given = outputs.first(where: { $0.1 != nil }) {
                throw GradLabError.usage("--story prints sample stories and trains nothing: drop \(given.0)")
            }
            print(LanguageExperiment.samples(o))
            return
        }
        guard out == nil || accuracyChart == nil else { throw GradLabError.usage("--out and --accuracy-chart name the same chart: give one") }
        try Budget.admit(CostModel.language(o), announceAfter: .infinity)
        try chartOptions.size.validate()
        let accuracyPath = accuracyChart ?? out
        try OutputFile.checkDistinct([("the accuracy chart", accuracyPath), ("the saliency chart", saliencyChart), ("the CSV", csv),
                                      ("the saliency CSV", saliencyCsv), ("the JSON", json)].compactMap { o, p in p.map { (o, $0) } })
        for path in [accuracyPath, saliencyChart].compactMap({ $0 }) { try FigureFile.check(path) }
        for path in [csv, saliencyCsv, json].compactMap({ $0 }) { try OutputFile.checkWritable(path) }

        let bar = SweepProgressBar(label: "language")
        let r = try LanguageExperiment.run(o, progress: RunContext.reproducible ? nil : { bar.update(fraction: $0) })
        bar.finish()
        print(LanguageExperiment.report(r))
        print(LanguageExperiment.saliencyReport(r))
        if let csv { try OutputFile.write(LanguageExperiment.accuracyCSV(r), to: csv); print("wrote \(csv)") }
        if let saliencyCsv { try OutputFile.write(LanguageExperiment.saliencyCSV(r), to: saliencyCsv); print("wrote \(saliencyCsv)") }
        if let json { try OutputFile.write(try LanguageExperiment.json(r), to: json); print("wrote \(json)") }
        for path in try LanguageCharts.save(r, accuracy: accuracyPath, saliency: saliencyChart, size: chartOptions.size, title: title) {
            print("wrote \(path)")
        }
    }
}
