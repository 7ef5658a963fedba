"""faster-whisper peer for benches/asr/run.sh: the same clip, tiny.en from the
cached CTranslate2 export, greedy (beam 1, temperature 0, no previous-text
conditioning), best of N runs. Prints engine<TAB>seconds<TAB>audio_s<TAB>text."""
import sys
import time
import wave

import numpy as np
from faster_whisper import WhisperModel

model_dir, clip, threads, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
with wave.open(clip) as w:
    assert w.getframerate() == 16000 and w.getnchannels() == 1 and w.getsampwidth() == 2
    audio = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32) / 32768.0
audio_s = len(audio) / 16000.0
for compute_type in ("int8", "float32"):
    model = WhisperModel(model_dir, device="cpu", compute_type=compute_type, cpu_threads=threads, num_workers=1)
    best, text = float("inf"), ""
    for _ in range(runs):
        t0 = time.perf_counter()
        segments, _info = model.transcribe(
            audio, language="en", beam_size=1, best_of=1, temperature=0.0,
            condition_on_previous_text=False, vad_filter=False, without_timestamps=False,
        )
        text = " ".join(s.text.strip() for s in segments)  # the generator does the work
        best = min(best, time.perf_counter() - t0)
    print(f"faster-whisper 1.2.1 {compute_type}\t{best:.3f}\t{audio_s:.2f}\t{' '.join(text.split())}")
