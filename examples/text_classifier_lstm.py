"""A sentiment classifier on raw strings: TextVectorization -> Embedding(mask_zero=True) -> LSTM -> Dense.

    python examples/text_classifier_lstm.py            # 2000 sentences, 8 epochs
    python examples/text_classifier_lstm.py --quick    # a few seconds
    python examples/text_classifier_lstm.py --bidirectional --out run1

The corpus is generated in the script from word templates ("the movie was really great",
"i did not like the plot at all", ...), each sentence labelled positive (1) or negative (0); negations
("not", "never") flip the label, so the order of the words matters and a bag of words is not enough.
``TextVectorization`` is adapted on the training sentences and sits inside the model, so the model takes
``Input(shape=(1,), dtype="string")`` and predicts on new raw sentences; saving it keeps the vocabulary.
"""

import argparse
import os

import numpy as np

import lamina
from lamina import layers

SUBJECTS = ["the movie", "this film", "the plot", "the acting", "the soundtrack", "the ending", "the story",
            "the cast", "the director's work", "the script"]
ADVERBS = ["", "really ", "truly ", "quite ", "very ", "so "]
POSITIVE = ["great", "wonderful", "excellent", "moving", "brilliant", "fun", "beautiful", "superb"]
NEGATIVE = ["awful", "boring", "terrible", "dull", "bad", "weak", "painful", "messy"]
TEMPLATES = [
    ("{s} was {a}{w}", False),
    ("{s} is {a}{w}", False),
    ("i thought {s} was {a}{w}", False),
    ("{s} was not {a}{w}", True),
    ("{s} is never {a}{w}", True),
    ("honestly {s} was {a}{w} from start to finish", False),
    ("i would not say {s} was {a}{w}", True),
]


def make_corpus(n, seed):
    """``n`` generated sentences and their labels (1 = positive); a negation flips the word's sentiment."""
    rng = np.random.default_rng(seed)
    sentences, labels = [], []
    for _ in range(n):
        template, negated = TEMPLATES[rng.integers(len(TEMPLATES))]
        positive = bool(rng.integers(2))
        word = rng.choice(POSITIVE if positive else NEGATIVE)
        sentence = template.format(s=rng.choice(SUBJECTS), a=rng.choice(ADVERBS), w=word)
        sentences.append(sentence.capitalize() + rng.choice([".", "!", ""]))  # standardize lowercases, strips
        labels.append(int(positive != negated))
    return np.array(sentences), np.array(labels, dtype="float32")


def build_model(vectorize, embed_dim=16, units=32, bidirectional=False):
    """string -> token ids -> embeddings (0 = padding is masked) -> LSTM -> probability of positive."""
    inputs = lamina.Input(shape=(1,), dtype="string", name="text")
    x = vectorize(inputs)
    x = layers.Embedding(vectorize.vocabulary_size(), embed_dim, mask_zero=True, name="embed")(x)
    lstm = layers.LSTM(units, name="lstm")
    x = layers.Bidirectional(lstm, name="bi_lstm")(x) if bidirectional else lstm(x)
    outputs = layers.Dense(1, activation="sigmoid", name="positive")(x)
    return lamina.Model(inputs, outputs, name="sentiment_lstm")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="600 sentences, 6 epochs (a few seconds)")
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--bidirectional", action="store_true", help="wrap the LSTM in Bidirectional")
    parser.add_argument("--out", default=None, help="if given, save the model in this folder and reload it")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    samples, epochs = (600, 6) if args.quick else (args.samples, args.epochs)
    lamina.utils.set_random_seed(args.seed)

    sentences, labels = make_corpus(samples, args.seed)
    test_sentences, test_labels = make_corpus(samples // 4, args.seed + 1)
    print(f"{len(sentences)} training sentences, e.g. {str(sentences[0])!r} -> {int(labels[0])}")

    # the vocabulary is learnt from the training text only; sentences are padded/cut to 12 tokens
    vectorize = layers.TextVectorization(max_tokens=200, output_mode="int", output_sequence_length=12,
                                         name="vectorize")
    vectorize.adapt(sentences)
    print("vocabulary:", vectorize.vocabulary_size(), "tokens, first ones:", vectorize.get_vocabulary()[:8])
    ids = lamina.ops.convert_to_numpy(vectorize(sentences[:1]))
    print(f"{str(sentences[0])!r} -> {ids[0].tolist()}")

    model = build_model(vectorize, bidirectional=args.bidirectional)
    model.summary()
    model.compile(optimizer=lamina.optimizers.Adam(1e-2), loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(sentences[:, None], labels, batch_size=32, epochs=epochs, validation_split=0.1,
                        verbose=0 if args.quick else "auto")
    loss, accuracy = model.evaluate(test_sentences[:, None], test_labels, verbose=0)
    print(f"test accuracy {accuracy:.4f}, loss {loss:.4f}")

    new = np.array([["The acting was really brilliant!"], ["I would not say the story was fun."],
                    ["the ending was not boring"], ["the script is never superb"]])
    probabilities = model.predict(new, verbose=0)[:, 0]
    for sentence, probability in zip(new[:, 0], probabilities):
        print(f"{probability:.3f}  {sentence}")

    if args.out:
        os.makedirs(args.out, exist_ok=True)
        path = os.path.join(args.out, "sentiment_lstm.keras")
        model.save(path)
        reloaded = lamina.models.load_model(path)
        np.testing.assert_allclose(reloaded.predict(new, verbose=0)[:, 0], probabilities, rtol=1e-5, atol=1e-6)
        print(f"saved {path}; the reloaded model (with its vocabulary) predicts the same")
    return {"accuracy": float(accuracy), "loss": float(loss), "history": history.history,
            "new_sentences": new[:, 0].tolist(), "probabilities": probabilities.tolist()}


if __name__ == "__main__":
    main()
