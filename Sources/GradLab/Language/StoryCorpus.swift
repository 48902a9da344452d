import Foundation
import Dynamics
import Linear

/// A tiny story language with one long-range dependency (lesson 10):
///
///     Jane walked into the room . John walked in too . it was late in the day . Jane said hi to ___
///
/// The answer (John) is the name of the "walked in too" sentence; the blank comes after a controlled number
/// of words.
///
/// **Grammar.** `<A> walked into the room . <B> walked in too . <distractors> [prefix] <A> said hi to`, with
/// A ≠ B drawn uniformly from `names`. The order never varies: the answer is always the second arrival, B,
/// and the query repeats A. Distractor sentences (`distractorSentences`) mention no name, so the only names in
/// a story are A (twice) and B (once): to answer, a network must have kept B since its sentence.
///
/// **Distance.** d = the number of words between B and the blank = the lag, in steps, from reading B to the
/// readout: 4 ("walked in too .") + the distractor words + the prefix + 4 ("<A> said hi to"). A story's d
/// is drawn uniformly from `minDistance…maxDistance` (at least 8); distractor sentences (3 to 9 words, drawn
/// uniformly among those that still fit) fill d − 8 words until fewer than 3 remain, and the query then
/// starts with "" / "then" / "and then" to make the count exact.
///
/// **Tensors.** Word-level one-hot inputs over the fixed vocabulary (`vocabulary`, index 0 is the pad
/// token), so the recurrent layer's W_ih is the word embedding. Every sequence has length
/// T = maxDistance + 7 (the longest story) and is padded at the FRONT with `<pad>`, so every story ends at
/// step T, where its blank is read out (many-to-one). Classes are the names (`outputSize` = names.count).
public struct StoryCorpus: Sendable, Equatable {
    /// The names a story draws A and B from (the classes, in this order).
    public let names: [String]
    public let minDistance: Int
    public let maxDistance: Int

    /// The smallest distance a story can have: "walked in too ." and "<A> said hi to", no distractor.
    public static let shortestDistance = 8
    /// Words from one name to the blank with nothing in between: 4 + 4.
    static let fixedBetween = 8

    public static let defaultNames = ["Jane", "John", "Mary", "Paul", "Anna", "Mark", "Lucy", "Tom"]

    /// Distractor sentences, 3 to 9 words each (the final "." counts as a word). No names.
    public static let distractorSentences: [[String]] = [
        "it was late .", "nobody said anything .", "the lights were dim .", "a dog barked outside .",
        "it was late in the day .", "the rain fell on the roof .", "someone opened a window .",
        "everyone was tired after a long week .", "the clock on the wall ticked .", "the coffee was cold .",
        "outside the wind was loud .", "a car drove past in the street .", "the music stopped .",
        "a long week of work was behind them .", "it had been a long day .", "night fell .", "time passed .",
    ].map { $0.split(separator: " ").map(String.init) }

    static let storyWords = ["walked", "into", "the", "room", ".", "in", "too", "said", "hi", "to", "then", "and"]
    public static let pad = "<pad>"

    /// `<pad>`, the names, the story's own words, then every distractor word, each once, in that order.
    public let vocabulary: [String]
    let index: [String: Int]

    public init(names: [String] = StoryCorpus.defaultNames, minDistance: Int = 8, maxDistance: Int = 39) {
        precondition(names.count >= 2 && Set(names).count == names.count, "StoryCorpus needs at least two distinct names")
        precondition(minDistance >= StoryCorpus.shortestDistance && maxDistance >= minDistance, "StoryCorpus: bad distance range")
        self.names = names
        self.minDistance = minDistance
        self.maxDistance = maxDistance
        var vocab = [StoryCorpus.pad] + names
        for w in StoryCorpus.storyWords + StoryCorpus.distractorSentences.flatMap({ $0 }) where !vocab.contains(w) { vocab.append(w) }
        vocabulary = vocab
        index = Dictionary(uniqueKeysWithValues: vocab.enumerated().map { ($1, $0) })
    }

    /// Sequence length T: the longest story (A's sentence 6 words, B, then maxDistance words).
    public var steps: Int { maxDistance + 7 }

    /// Index of `word` in the vocabulary (the one-hot position).
    public func wordIndex(_ word: String) -> Int? { index[word] }

    /// Draws one story with distance `distance` (minDistance…maxDistance), or a uniform one when nil.
    public func story(distance: Int? = nil, rng: inout SeededRNG) -> Story {
        let d = distance ?? (minDistance + Int(rng.next() % UInt64(maxDistance - minDistance + 1)))
        precondition(d >= StoryCorpus.shortestDistance, "distance \(d) < \(StoryCorpus.shortestDistance)")
        let a = Int(rng.next() % UInt64(names.count))
        var b = Int(rng.next() % UInt64(names.count - 1))
        if b >= a { b += 1 }
        var words = [names[a], "walked", "into", "the", "room", ".", names[b], "walked", "in", "too", "."]
        var left = d - StoryCorpus.fixedBetween
        while left >= 3 {
            let fitting = StoryCorpus.distractorSentences.filter { $0.count <= left }
            let s = fitting[Int(rng.next() % UInt64(fitting.count))]
            words += s
            left -= s.count
        }
        words += [[], ["then"], ["and", "then"]][left]
        words += [names[a], "said", "hi", "to"]
        return Story(words: words, first: a, answer: b, distance: d)
    }

    /// A batch of stories (distance each uniform, or all `distance`) and its tensors.
    public func batch(size: Int, distance: Int? = nil, rng: inout SeededRNG) -> (stories: [Story], batch: SequenceBatch) {
        let stories = (0..<size).map { _ in story(distance: distance, rng: &rng) }
        return (stories, tensors(stories))
    }

    /// One-hot inputs, padded at the front to T steps; the class (name index) of each answer at step T.
    public func tensors(_ stories: [Story]) -> SequenceBatch {
        let t = steps, v = vocabulary.count, b = stories.count
        var inputs = [Matrix](repeating: Matrix(rows: b, cols: v), count: t)
        for (r, s) in stories.enumerated() {
            precondition(s.words.count <= t, "story of \(s.words.count) words does not fit T = \(t)")
            let padCount = t - s.words.count
            for i in 0..<t {
                let w = i < padCount ? StoryCorpus.pad : s.words[i - padCount]
                inputs[i][r, index[w]!] = 1
            }
        }
        return SequenceBatch(inputs: inputs, lossSteps: [t], targets: .classes([stories.map(\.answer)]))
    }
}

/// One generated story.
public struct Story: Sendable, Equatable {
    /// The words, without padding and without the blank.
    public var words: [String]
    /// Index (into the corpus' names) of A, who enters first and says hi.
    public var first: Int
    /// Index of B, the answer.
    public var answer: Int
    /// Words between B and the blank (= steps from reading B to the readout).
    public var distance: Int

    /// Position of B in `words` (always 6).
    public var answerPosition: Int { 6 }

    public var text: String { words.joined(separator: " ") + " ___" }
}

/// The story task as a `SequenceTask`: many-to-one cross-entropy over the names at the blank.
///
/// Baseline: a network that remembers nothing of the story's first two sentences still reads the query
/// "<A> said hi to", and B ≠ A: its best guess is uniform over the other names, cross-entropy
/// ln(names − 1) exactly (ln 7 ≈ 1.946 for 8 names), accuracy 1/(names − 1).
public struct StoryTask: SequenceTask {
    public let corpus: StoryCorpus
    public init(corpus: StoryCorpus) { self.corpus = corpus }
    public var name: String { "story" }
    public var steps: Int { corpus.steps }
    public var inputSize: Int { corpus.vocabulary.count }
    public var outputSize: Int { corpus.names.count }
    public var loss: LossKind { .crossEntropy }
    public var baselineLoss: Double { log(Double(corpus.names.count - 1)) }
    public var baselineLabel: String {
        "no memory: uniform over the \(corpus.names.count - 1) names ≠ A (ln \(corpus.names.count - 1) ≈ \(String(format: "%.3f", baselineLoss)))"
    }
    public func batch(size: Int, rng: inout SeededRNG) -> SequenceBatch { corpus.batch(size: size, rng: &rng).batch }
}
