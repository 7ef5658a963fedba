#!/usr/bin/env bash
# Makes the synthetic demo visit: assets/demo/visit.wav (16 kHz mono 16-bit)
# and assets/demo/visit.txt (its reference transcript, one turn a line).
#
# Two espeak-ng voices (clinician: en-us+m3, slower and lower; patient:
# en-gb+f2, higher) are joined with short pauses by sox. Nothing random is
# involved (sox dithering is off with -D), so the same espeak-ng and sox
# versions give the same bytes on every run. The dialogue is fictional.
#
# The wording was chosen for espeak's pronunciation (several drug names,
# "pneumonia", "doctor" as an address and spoken hundreds were misheard by
# tiny.en and were rephrased): whisper tiny.en (f16 ggml, greedy) scored
# 1.9 % WER against visit.txt when this was made. Numbers are written as
# digits because whisper writes them so.
#
#   scripts/make-demo.sh [OUT_DIR]     (default: assets/demo)
# Needs: espeak-ng, sox.
set -euo pipefail
export LC_ALL=C

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/assets/demo}"
mkdir -p "$out"
for tool in espeak-ng sox; do
    command -v "$tool" >/dev/null || { echo "make-demo: $tool is not installed" >&2; exit 1; }
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Speaker: text. One turn a line.
cat >"$work/dialogue.txt" <<'DIALOGUE'
Clinician: Good morning. My name is Sam Patel. What brings you in today?
Patient: Good morning. I have had a cough and a sore throat for five days.
Clinician: When did the cough start? Is it getting better or worse?
Patient: It started last Monday. It is worse at night, and I feel very tired.
Clinician: Have you had a fever?
Patient: Yes. On Tuesday my temperature was 38.5 degrees. I have no chest pain.
Clinician: Are you coughing anything up?
Patient: Yes, some thick yellow mucus in the morning.
Clinician: Do you take any medicine every day?
Patient: Every morning I take one aspirin, 81 milligrams, for my heart.
Clinician: Do you have any allergies to medicine?
Patient: Yes, I am allergic to penicillin. It gives me hives.
Clinician: Thank you. Your temperature today is 38 degrees. Your blood pressure is 120 over 80, and your heart rate is 96.
Patient: My left ear also hurts. The right ear is fine.
Clinician: Let me listen to your lungs. Please take a deep breath.
Patient: Is it serious?
Clinician: I can hear crackles in the lower part of your right lung, and your left ear drum is red.
Patient: What do you think it is?
Clinician: I think you have a chest infection in the right lung, and your left ear is infected.
Patient: What should I do?
Clinician: I will give you an antibiotic that does not contain penicillin. Take one tablet in the morning and one at night for seven days. I also want an X-ray of your chest today.
Patient: Thank you. Is there anything else?
Clinician: Please drink lots of water and get some rest. Come back in one week, or sooner if your breathing gets worse.
DIALOGUE

# Pauses (espeak-ng writes 22050 Hz mono 16-bit; the pause must match).
sox -V1 -R -D -n -r 22050 -c 1 -b 16 "$work/pause.wav" trim 0 0.6

n=0
parts=()
: >"$out/visit.txt.tmp"
while IFS= read -r line; do
    [ -n "$line" ] || continue
    speaker="${line%%:*}"
    text="${line#*: }"
    case "$speaker" in
        Clinician) voice=(-v en-us+m3 -s 150 -p 35) ;;
        Patient)   voice=(-v en-gb+f2 -s 160 -p 65) ;;
        *) echo "make-demo: unknown speaker '$speaker'" >&2; exit 1 ;;
    esac
    n=$((n + 1))
    turn="$work/turn$(printf '%02d' "$n").wav"
    espeak-ng "${voice[@]}" -w "$turn" -- "$text"
    [ "${#parts[@]}" -eq 0 ] || parts+=("$work/pause.wav")
    parts+=("$turn")
    printf '%s: %s\n' "$speaker" "$text" >>"$out/visit.txt.tmp"
done <"$work/dialogue.txt"

# Join, resample to 16 kHz, normalise to -3 dBFS peak; -D: no dither.
sox -V1 -R -D "${parts[@]}" -r 16000 -c 1 -b 16 -e signed-integer "$out/visit.wav.tmp.wav" norm -3
mv "$out/visit.wav.tmp.wav" "$out/visit.wav"
mv "$out/visit.txt.tmp" "$out/visit.txt"
echo "make-demo: $n turns, $(soxi -D "$out/visit.wav") s, $(wc -c <"$out/visit.wav") bytes -> $out"
