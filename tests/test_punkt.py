"""The Punkt port (`qa.punkt`) gives NLTK's sentence spans exactly, and splitting sentences no longer imports nltk."""

import itertools
import subprocess
import sys
from pathlib import Path

import pytest

from qa import punkt
from qa.offline import llama_index_static_dir

TRICKY = [
    "",
    " ",
    "   \t  ",
    "\x1c",
    ".",
    "...",
    "?!.",
    ".,;:!?()[]{}\"'--...",
    "Dr. Smith went to Washington. He arrived at noon.",
    "Mr. and Mrs. Jones live on Baker St. in London. They have two cats.",
    "Use a solvent, e.g. ethanol, and stir. Then wait, i.e. do nothing.",
    "The U.S. economy grew. The U.S.A. is large. She moved to the U.K. Last year she left.",
    "J. R. R. Tolkien wrote it. Johann S. Bach composed it. A. Einstein agreed.",
    "Sales reached 3.5 million. Costs were $2.75 per unit. Growth was 0.8% in Q3.",
    "He paused... Then he spoke. Wait... what? Really...",
    'She said "Stop." Then she left. "Why?" he asked. "Because!" she said.',
    "(This is in brackets.) This is not. [Neither is this.] {Nor this.}",
    "He came 3rd. Then he went home. He was the 2nd. in line.",
    "It ended. then it began again. lowercase after a period. and more.",
    "See No. 5 on the list. Item no. 6 is gone. Nos. 7 and 8 remain.",
    "Visit https://example.com/a.b?c=d. Or see www.example.org. Mail me at a.b@example.com. Done.",
    "雷军是小米的创始人。小米成立于2010年。 He said hello. 你好！",
    "Согласно данным, рост составил 5%. Это много. Ц. Д. Иванов.",
    "Café au lait. Naïve café. Crème brûlée is sweet. Voilà.",
    "Patients (n = 120) were enrolled. Fig. 2 shows the results. See Table 1. et al. reported it.",
    "Smith et al. found IL-6 rose. Jones et al. (2019) disagreed. The p-value was < 0.05.",
    "The dose was 2.5 mg/kg vs. 5 mg/kg. approx. 10% responded. Inc. filed on Jan. 3.",
    "The virus (SARS-CoV-2) spreads. COVID-19 is the disease. WHO declared a pandemic on 11 March 2020.",
    "Q. What is it? A. Nobody knows. B. Maybe. C. Perhaps.",
    "Very bad acting!!! I promise. Really?! Yes!? No.",
    "End with punctuation.)",
    'A quote ends." Next sentence.',
    "Nested ('quotes.') and (brackets.) end. Next one.",
    "Trailing spaces.    ",
    "   Leading spaces. And more.",
    "Tabs\tbetween.\tWords. Here.",
    "Dashes--like this. And -- this. Then---that.",
    ". . . spaced ellipsis . . . here. And then.",
    "Numbers 1. 2. 3. And 4.5. 6.7.8. Then -3. End.",
    "A line with a superscript m². Then another with x³. And ½. Done.",
    "Combining marks: cafe\u0301. Next. Hindi नमस्ते. दुनिया. Next.",
    "Curly \u201cquotes.\u201d Next \u2018one.\u2019 And \xabguillemets.\xbb Last.",
    "Separators that str.isspace() calls space but regex does not.\x1fNext one.)\x1c Then.\x1d\x1eAnd. \x1fNext, a\x1fDr. Smith.",
    "Digits of newer Unicode versions: \U00010d40. next \U000116d0. Next -\U00010d41. then 3. Then.",
    "No period at the end",
    "word. " * 300 + "final words",
    "A very long sentence " + "with many many words, " * 400 + "that ends. And a short one.",
]

# Every pair makes a line "It was <ending> <start> came later.": abbreviations, initials, ordinals and quotes
# before words that are or are not sentence starters, collocations ("5. International") and punctuation.
ENDINGS = 'Dr. e.g. U.S. J. 3. No. etc. ... end. end." end.) end?! Inc. al. 5.5 St. vs. ok!'.split()
STARTS = '(see "Why -- 5 And Bach COVID-19 Credit He However International Smith The Who i in the'.split()


def _lines() -> list[str]:
    seeds = [
        line for path in sorted(Path("seeds").glob("*.txt")) for line in path.read_text(encoding="utf-8").split("\n")
    ]
    combined = [f"It was {end} {start} came later. Then more." for end, start in itertools.product(ENDINGS, STARTS)]
    return TRICKY + seeds + combined


@pytest.fixture(scope="module")
def nltk_punkt():
    """NLTK's tokenizers, English (the data path set as `qa.text` used to) and untrained."""
    nltk = pytest.importorskip("nltk")
    path = str(llama_index_static_dir() / "nltk_cache")
    if path not in nltk.data.path:
        nltk.data.path.insert(0, path)
    return nltk.tokenize.PunktTokenizer("english"), nltk.tokenize.PunktSentenceTokenizer()


def test_spans_equal_nltk(nltk_punkt):
    english, untrained = nltk_punkt
    lines = _lines()
    assert len(lines) > 250
    for line in lines:
        assert list(punkt.english().span_tokenize(line)) == list(english.span_tokenize(line)), line[:200]
        assert list(punkt.Punkt().span_tokenize(line)) == list(untrained.span_tokenize(line)), line[:200]
    text = "\n".join(TRICKY[8:20]) + "\n\n\nA new paragraph. Dr.\nSmith on a new line."
    assert list(punkt.english().span_tokenize(text)) == list(english.span_tokenize(text))


def test_spans_split_on_sentence_ends_only():
    text = "Dr. Smith met J. R. R. Tolkien in the U.S. on Monday. They talked (briefly.) Then they left."
    assert [text[s:e] for s, e in punkt.english().span_tokenize(text)] == [
        "Dr. Smith met J. R. R. Tolkien in the U.S. on Monday.",
        "They talked (briefly.)",
        "Then they left.",
    ]


def test_splitting_sentences_does_not_import_nltk():
    code = "import sys, qa.text\nqa.text.sentence_spans('Hello there. How are you today my friend?')\nprint('nltk' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "False"
