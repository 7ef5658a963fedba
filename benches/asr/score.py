"""Scores benches/asr output lines against the demo script. WER uses the same
normalisation as tacet_asr::normalize_words (lower case, hyphens to spaces,
only letters, digits and spaces kept). A clip that ends mid-script is scored
against the script prefix that fits it best (minimum edit distance over all
prefixes), the same rule for every engine."""
import sys


def words(text):
    t = "".join(" " if c in "-\u2014\u2013" else c for c in text)
    t = "".join(c for c in t if c.isalnum() or c.isspace()).lower()
    return t.split()


def prefix_wer(ref, hyp):
    r, h = words(ref), words(hyp)
    prev = list(range(len(h) + 1))
    best = (prev[-1], 0)  # reference prefix of length 0
    for i, rw in enumerate(r, 1):
        cur = [i] + [0] * len(h)
        for j, hw in enumerate(h, 1):
            cur[j] = min(prev[j - 1] + (rw != hw), prev[j] + 1, cur[j - 1] + 1)
        prev = cur
        if i and prev[-1] / i <= best[0] / max(best[1], 1):
            best = (prev[-1], i)
    return best[0] / max(best[1], 1), best[1]


script = " ".join(l.split(":", 1)[-1] for l in open(sys.argv[1]).read().splitlines())
repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 1
reference = " ".join([script] * repeat)
print("| engine | seconds (best of 3) | real-time factor | WER |")
print("|---|---|---|---|")
for line in sys.stdin:
    name, secs, audio_s, text = line.rstrip("\n").split("\t", 3)
    wer, n = prefix_wer(reference, text)
    print(f"| {name} | {float(secs):.2f} | {float(secs) / float(audio_s):.3f} | {wer * 100:.1f}% ({n} ref. words) |")
