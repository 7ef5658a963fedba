//! Recordings people have: the demo visit's first 3.5 s, encoded by FFmpeg
//! as FLAC, MP3, M4A (AAC), OGG Vorbis and Opus (tests/data/README.md has
//! the commands), decoded and compared with the WAV it came from; then the
//! same files cut, damaged, emptied and misnamed, each refused with the
//! error a person can act on, naming the file.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use std::path::{Path, PathBuf};
use tacet_audio::{
    decode_audio, read_audio_file, read_wav_file, split_channels_16k, to_mono_16k, AudioError,
    PcmAudio, READABLE_FORMATS,
};

/// One committed recording and what it must decode to.
struct Fixture {
    name: &'static str,
    rate_hz: u32,
    channels: u16,
    /// RMS of its mono mix relative to the original: the stereo files carry
    /// the visit at full level on the left and half level on the right.
    mix_gain: f32,
}

const fn fx(name: &'static str, rate_hz: u32, channels: u16) -> Fixture {
    Fixture {
        name,
        rate_hz,
        channels,
        mix_gain: if channels == 1 { 1.0 } else { 0.75 },
    }
}

const FIXTURES: &[Fixture] = &[
    fx("visit.flac", 16_000, 1),
    fx("visit.mp3", 16_000, 1),
    fx("visit.m4a", 16_000, 1),
    fx("visit.ogg", 16_000, 1),
    fx("visit.opus", 48_000, 1),
    fx("visit_stereo.opus", 48_000, 2),
    fx("visit_stereo_44k.mp3", 44_100, 2),
    fx("visit_stereo_44k.m4a", 44_100, 2),
    fx("visit_stereo_44k.ogg", 44_100, 2),
];

/// The fixtures are cut from the first 3.5 s of the demo visit.
const SECONDS: f64 = 3.5;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(data(name)).unwrap()
}

/// The first 3.5 s of assets/demo/visit.wav (16 kHz mono), read by the WAV
/// path.
fn original() -> Vec<f32> {
    let wav = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/demo/visit.wav");
    let pcm = read_wav_file(&wav).unwrap();
    assert_eq!((pcm.sample_rate_hz, pcm.channels), (16_000, 1));
    pcm.samples[..(16_000.0 * SECONDS) as usize].to_vec()
}

/// RMS per 10 ms window of 16 kHz audio.
fn envelope(x: &[f32]) -> Vec<f32> {
    x.chunks(160).map(rms).collect()
}

fn rms(x: &[f32]) -> f32 {
    (x.iter().map(|s| s * s).sum::<f32>() / x.len().max(1) as f32).sqrt()
}

/// Pearson correlation of `a` against `b` shifted by `lag` windows.
fn correlation(a: &[f32], b: &[f32], lag: i32) -> f32 {
    let pairs: Vec<(f32, f32)> = (0..a.len())
        .filter_map(|i| {
            let j = i as i64 + i64::from(lag);
            (j >= 0 && (j as usize) < b.len()).then(|| (a[i], b[j as usize]))
        })
        .collect();
    let n = pairs.len() as f32;
    let (ma, mb) = pairs
        .iter()
        .fold((0.0, 0.0), |(x, y), (p, q)| (x + p / n, y + q / n));
    let (mut sab, mut saa, mut sbb) = (0.0f32, 0.0f32, 0.0f32);
    for (p, q) in pairs {
        sab += (p - ma) * (q - mb);
        saa += (p - ma) * (p - ma);
        sbb += (q - mb) * (q - mb);
    }
    sab / (saa * sbb).sqrt()
}

/// The lag (in 10 ms windows, within ±10) at which `b` best matches `a`.
fn best_lag(a: &[f32], b: &[f32]) -> (i32, f32) {
    (-10..=10)
        .map(|lag| (lag, correlation(a, b, lag)))
        .max_by(|x, y| x.1.total_cmp(&y.1))
        .unwrap()
}

fn duration_ms(pcm: &PcmAudio) -> f64 {
    pcm.frames() as f64 * 1000.0 / f64::from(pcm.sample_rate_hz)
}

#[test]
fn each_format_decodes_to_the_visit() {
    let original = original();
    let env_orig = envelope(&original);
    for f in FIXTURES {
        let pcm = read_audio_file(&data(f.name)).unwrap_or_else(|e| panic!("{}: {e}", f.name));
        assert_eq!(pcm.sample_rate_hz, f.rate_hz, "{}", f.name);
        assert_eq!(pcm.channels, f.channels, "{}", f.name);
        let ms = duration_ms(&pcm);
        assert!(
            (ms - SECONDS * 1000.0).abs() <= 50.0,
            "{}: {ms} ms, expected 3500 ± 50",
            f.name
        );
        assert!(pcm.samples.iter().all(|s| s.is_finite() && s.abs() <= 1.0));

        // The 16 kHz mono the ASR engine gets follows the original's
        // loudness contour, in time: the encoder's priming and padding are
        // gone, not left to shift the words.
        let mono = to_mono_16k(&pcm).unwrap();
        let env = envelope(&mono);
        let at_zero = correlation(&env_orig, &env, 0);
        let (lag, best) = best_lag(&env_orig, &env);
        assert!(at_zero > 0.95, "{}: envelope correlation {at_zero}", f.name);
        assert!(
            lag.abs() <= 1,
            "{}: best aligned {lag}0 ms off ({best})",
            f.name
        );
        let gain = rms(&mono) / rms(&original);
        assert!(
            (gain - f.mix_gain).abs() <= 0.15 * f.mix_gain,
            "{}: level {gain}, expected {}",
            f.name,
            f.mix_gain
        );
    }
}

#[test]
fn flac_is_lossless() {
    let pcm = read_audio_file(&data("visit.flac")).unwrap();
    assert_eq!(pcm.samples, original());
}

#[test]
fn stereo_channels_keep_their_order() {
    let env_orig = envelope(&original());
    for f in FIXTURES.iter().filter(|f| f.channels == 2) {
        let pcm = read_audio_file(&data(f.name)).unwrap();
        let split = split_channels_16k(&pcm).unwrap();
        let (left, right) = (&split[0], &split[1]);
        let ratio = rms(right) / rms(left);
        assert!(
            (0.42..=0.58).contains(&ratio),
            "{}: right/left level {ratio}, expected 0.5",
            f.name
        );
        for ch in [left, right] {
            let c = correlation(&env_orig, &envelope(ch), 0);
            assert!(c > 0.9, "{}: channel envelope correlation {c}", f.name);
        }
    }
}

#[test]
fn the_bytes_decide_not_the_extension() {
    let dir = tempfile::tempdir().unwrap();
    // A FLAC named .mp3 and a Vorbis file named .wav decode as what they are.
    for (from, to) in [("visit.flac", "visit.mp3"), ("visit.ogg", "visit.wav")] {
        let renamed = dir.path().join(to);
        std::fs::copy(data(from), &renamed).unwrap();
        assert_eq!(
            read_audio_file(&renamed).unwrap(),
            read_audio_file(&data(from)).unwrap()
        );
    }
    // decode_audio and read_audio_file agree.
    assert_eq!(
        decode_audio(&bytes("visit.opus")).unwrap(),
        read_audio_file(&data("visit.opus")).unwrap()
    );
}

#[test]
fn wav_still_takes_the_hardened_path() {
    // The demo WAV decodes exactly as read_wav_file reads it...
    let wav = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/demo/visit.wav");
    let whole = std::fs::read(&wav).unwrap();
    let head = &whole[..44 + 16_000 * 2];
    let mut small = head.to_vec();
    small[40..44].copy_from_slice(&32_000u32.to_le_bytes());
    small[4..8].copy_from_slice(&(36 + 32_000u32).to_le_bytes());
    assert_eq!(
        decode_audio(&small).unwrap(),
        tacet_audio::decode_wav(&small).unwrap()
    );
    // ...and a cut one is refused with the counts the WAV reader gives.
    let err = decode_audio(&small[..small.len() - 200]).unwrap_err();
    assert!(
        matches!(
            err,
            AudioError::Truncated {
                promised_samples: 16_000,
                held_samples: 15_900,
                ..
            }
        ),
        "{err}"
    );
}

// ------------------------------------------------------------ refusals ----

/// Writes `bytes` to a file named `name` and reads it back, so the error
/// can be checked for naming the file.
fn read_as(dir: &Path, name: &str, bytes: &[u8]) -> Result<PcmAudio, AudioError> {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    read_audio_file(&path)
}

fn assert_names(err: &AudioError, name: &str) {
    let msg = err.to_string();
    assert!(msg.contains(name), "message does not name {name}: {msg}");
}

/// Where each Ogg page starts, with its header length.
fn ogg_pages(b: &[u8]) -> Vec<(usize, usize)> {
    let mut pages = Vec::new();
    let mut pos = 0;
    while pos + 27 <= b.len() && &b[pos..pos + 4] == b"OggS" {
        let n = usize::from(b[pos + 26]);
        let body: usize = b[pos + 27..pos + 27 + n]
            .iter()
            .map(|&x| usize::from(x))
            .sum();
        pages.push((pos, 27 + n));
        pos += 27 + n + body;
    }
    pages
}

/// Rewrites every Ogg page's CRC (after a header was edited on purpose).
fn fix_ogg_crcs(b: &mut [u8]) {
    for (pos, header) in ogg_pages(b) {
        let body: usize = b[pos + 27..pos + header]
            .iter()
            .map(|&x| usize::from(x))
            .sum();
        b[pos + 22..pos + 26].fill(0);
        let mut crc = 0u32;
        for &x in &b[pos..pos + header + body] {
            crc ^= u32::from(x) << 24;
            for _ in 0..8 {
                crc = if crc & 0x8000_0000 != 0 {
                    (crc << 1) ^ 0x04c1_1db7
                } else {
                    crc << 1
                };
            }
        }
        b[pos + 22..pos + 26].copy_from_slice(&crc.to_le_bytes());
    }
}

/// Where a FLAC file's first audio frame starts (after its metadata).
fn flac_audio_start(b: &[u8]) -> usize {
    let mut pos = 4;
    loop {
        let last = b[pos] & 0x80 != 0;
        let len = u32::from_be_bytes([0, b[pos + 1], b[pos + 2], b[pos + 3]]) as usize;
        pos += 4 + len;
        if last {
            return pos;
        }
    }
}

/// Where an MP3 fixture's audio starts: after the ID3 tag and the
/// Xing/Info frame (the second frame's sync word).
fn mp3_audio_start(b: &[u8]) -> usize {
    let id3 = 10
        + b[6..10]
            .iter()
            .fold(0usize, |n, &x| (n << 7) | usize::from(x));
    id3 + 1
        + b[id3 + 1..]
            .windows(2)
            .position(|w| w[0] == 0xff && w[1] & 0xe0 == 0xe0)
            .unwrap()
}

#[test]
fn fail_cut_anywhere() {
    let dir = tempfile::tempdir().unwrap();
    for f in FIXTURES {
        let whole = bytes(f.name);
        let len = whole.len();
        let name = format!("cut_{}", f.name);
        // 64 points through the file, the last few bytes, and for Ogg every
        // page boundary (a cut there leaves whole pages, no end-of-stream).
        let mut cuts: Vec<usize> = (0..64).map(|i| 16 + i * (len - 16) / 64).collect();
        cuts.extend([len - 1, len - 2, len - 17]);
        if f.name.ends_with(".ogg") || f.name.ends_with(".opus") {
            cuts.extend(ogg_pages(&whole).iter().skip(1).map(|p| p.0));
        }
        for cut in cuts {
            let err = match read_as(dir.path(), &name, &whole[..cut]) {
                Ok(p) => panic!("{} cut at {cut} of {len}: {} ms", f.name, duration_ms(&p)),
                Err(err) => err,
            };
            assert!(
                matches!(
                    err,
                    AudioError::CutShort { .. } | AudioError::Truncated { .. }
                ),
                "{} cut at {cut} of {len}: {err}",
                f.name
            );
            assert_names(&err, &name);
        }
    }
}

/// `count` positions spread evenly over `range`.
fn spread(range: std::ops::Range<usize>, count: usize) -> Vec<usize> {
    (0..count)
        .map(|i| range.start + i * (range.end - range.start) / count)
        .collect()
}

#[test]
fn fail_flipped_bytes_where_a_checksum_covers_them() {
    let dir = tempfile::tempdir().unwrap();
    for f in FIXTURES {
        let whole = bytes(f.name);
        let len = whole.len();
        // FLAC frames carry a CRC-16 (and STREAMINFO an MD5 of the audio);
        // every Ogg page a CRC-32; LAME's tag a CRC-16 of all MP3 frames.
        // The last FLAC frame is left out: one lost there reads as a
        // shorter file (Truncated), tested above.
        let positions = match f.name.rsplit('.').next() {
            Some("flac") => spread(flac_audio_start(&whole)..len * 95 / 100, 40),
            Some("ogg" | "opus") => ogg_pages(&whole)
                .iter()
                .flat_map(|&(pos, header)| [pos + header, pos + header + 7])
                .filter(|&p| p < len)
                .chain(spread(0..len, 40).into_iter().filter(|p| {
                    // Bytes of page bodies (a flipped header can also make
                    // a page look longer than the file: cut short).
                    ogg_pages(&whole)
                        .iter()
                        .all(|&(pos, header)| !(pos..pos + header).contains(p))
                }))
                .collect(),
            Some("mp3") => spread(mp3_audio_start(&whole)..len, 40),
            _ => continue, // M4A: see fail_damaged_aac_and_mp4_boxes
        };
        assert!(positions.len() >= 20, "{}", f.name);
        let name = format!("damaged_{}", f.name);
        for p in positions {
            let mut b = whole.clone();
            b[p] ^= 0x5a;
            let Err(err) = read_as(dir.path(), &name, &b) else {
                panic!("{}: byte {p} flipped, and it decoded", f.name);
            };
            assert!(
                matches!(err, AudioError::Corrupt { .. }),
                "{}: byte {p} flipped: {err}",
                f.name
            );
            assert_names(&err, &name);
        }
    }
}

#[test]
fn fail_damaged_aac_and_mp4_boxes() {
    // Neither MP4 nor AAC carries a checksum: a changed bit inside an AAC
    // frame can decode to slightly wrong sound, and only the decoder
    // tripping on it gives it away. What the structure gives away is
    // checked: a box size that no longer fits, garbage over the frames.
    let dir = tempfile::tempdir().unwrap();
    for name in ["visit.m4a", "visit_stereo_44k.m4a"] {
        let whole = bytes(name);
        let mdat = whole.windows(4).position(|w| w == b"mdat").unwrap() - 4;
        // The mdat box claims more bytes than the file has.
        let mut b = whole.clone();
        b[mdat] ^= 0x10;
        let err = read_as(dir.path(), name, &b).unwrap_err();
        assert!(matches!(err, AudioError::CutShort { .. }), "{name}: {err}");
        assert_names(&err, name);
        // A box size smaller than a box header.
        let mut b = whole.clone();
        b[..4].copy_from_slice(&3u32.to_be_bytes());
        let err = read_as(dir.path(), name, &b).unwrap_err();
        assert!(matches!(err, AudioError::Corrupt { .. }), "{name}: {err}");
        // Garbage over a stretch of AAC frames: refused when the decoder
        // trips on it, and otherwise at least never a recording of another
        // length.
        let full = read_audio_file(&data(name)).unwrap().frames();
        for at in [3, 2, 1].map(|k| mdat + 8 + k * (whole.len() - mdat) / 4) {
            let mut b = whole.clone();
            for (i, x) in b[at..at + 64].iter_mut().enumerate() {
                *x = (i as u8).wrapping_mul(97) ^ 0xa5;
            }
            match read_as(dir.path(), name, &b) {
                Ok(pcm) => assert_eq!(pcm.frames(), full, "{name}: garbage at {at}"),
                Err(err) => {
                    assert!(matches!(err, AudioError::Corrupt { .. }), "{name}: {err}");
                    assert_names(&err, name);
                }
            }
        }
    }
}

#[test]
fn fail_empty_recordings() {
    let dir = tempfile::tempdir().unwrap();
    // Valid files of each format holding no audio frame (FFmpeg, -t 0).
    for name in [
        "empty.flac",
        "empty.mp3",
        "empty.m4a",
        "empty.ogg",
        "empty.opus",
    ] {
        let err = read_audio_file(&data(name)).unwrap_err();
        assert!(matches!(err, AudioError::Empty { .. }), "{name}: {err}");
        assert_names(&err, name);
        assert!(err.to_string().contains("holds no audio"), "{err}");
    }
    // A zero-byte file, whatever its name.
    for name in ["nothing.ogg", "nothing.m4a"] {
        let err = read_as(dir.path(), name, &[]).unwrap_err();
        assert!(matches!(err, AudioError::NotAudio { .. }), "{name}: {err}");
        assert_names(&err, name);
    }
    assert!(matches!(
        decode_audio(&[]),
        Err(AudioError::NotAudio { .. })
    ));
}

#[test]
fn fail_not_a_recording_whatever_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x02\0\0\0";
    let cases: [(&str, &[u8]); 4] = [
        ("notes.m4a", b"Patient reports a cough for five days.\n"),
        ("photo.flac", png),
        ("visit.opus", b"{\"not\": \"audio\"}"),
        ("zeros.mp3", &[0u8; 4096]),
    ];
    for (name, content) in cases {
        let err = read_as(dir.path(), name, content).unwrap_err();
        assert!(matches!(err, AudioError::NotAudio { .. }), "{name}: {err}");
        let msg = err.to_string();
        assert_names(&err, name);
        assert!(msg.contains(READABLE_FORMATS), "{msg}");
    }
    // The magic of a format followed by garbage is that format, damaged.
    for (name, magic) in [
        ("garbage.flac", &b"fLaC"[..]),
        ("garbage.ogg", b"OggS"),
        ("garbage.m4a", b"\0\0\0\x10ftypM4A \0\0\0\0"),
    ] {
        let mut b = magic.to_vec();
        b.extend((0..2000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
        let err = read_as(dir.path(), name, &b).unwrap_err();
        assert!(
            matches!(
                err,
                AudioError::Corrupt { .. } | AudioError::CutShort { .. }
            ),
            "{name}: {err}"
        );
        assert_names(&err, name);
    }
    let err = read_audio_file(&dir.path().join("missing.flac")).unwrap_err();
    assert!(matches!(err, AudioError::Io { .. }));
    assert_names(&err, "missing.flac");
}

#[test]
fn fail_codec_tacet_has_no_decoder_for() {
    // Apple Lossless in an M4A (FFmpeg, -c:a alac).
    let err = read_audio_file(&data("alac.m4a")).unwrap_err();
    assert!(
        matches!(err, AudioError::UnsupportedEncoding { .. }),
        "{err}"
    );
    let msg = err.to_string();
    assert!(msg.contains("alac.m4a") && msg.contains("ALAC"), "{msg}");
    assert!(msg.contains(READABLE_FORMATS), "{msg}");
}

#[test]
fn fail_rates_and_channel_counts_out_of_bounds() {
    // FLAC: STREAMINFO's 20-bit rate (no checksum covers it).
    let flac = bytes("visit.flac");
    for rate in [3_999u32, 384_001, 0] {
        let mut b = flac.clone();
        let packed = u64::from_be_bytes(b[18..26].try_into().unwrap());
        let packed = (packed & !(0xf_ffff << 44)) | (u64::from(rate) << 44);
        b[18..26].copy_from_slice(&packed.to_be_bytes());
        let err = decode_audio(&b).unwrap_err();
        assert!(
            matches!(err, AudioError::SampleRate { sample_rate_hz, .. } if sample_rate_hz == rate),
            "{rate}: {err}"
        );
    }
    // Vorbis: the identification header's channel count and rate.
    let ogg = bytes("visit.ogg");
    let id = 28; // first page: 27-byte header, one lacing value
    assert_eq!(&ogg[id..id + 7], b"\x01vorbis");
    let mut b = ogg.clone();
    b[id + 11] = 9;
    fix_ogg_crcs(&mut b);
    let err = decode_audio(&b).unwrap_err();
    assert!(
        matches!(err, AudioError::Channels { channels: 9, .. }),
        "{err}"
    );
    let mut b = ogg.clone();
    b[id + 12..id + 16].copy_from_slice(&2_000u32.to_le_bytes());
    fix_ogg_crcs(&mut b);
    let err = decode_audio(&b).unwrap_err();
    assert!(
        matches!(
            err,
            AudioError::SampleRate {
                sample_rate_hz: 2_000,
                ..
            }
        ),
        "{err}"
    );
    // Opus: a header claiming 9 channels.
    let opus = bytes("visit.opus");
    assert_eq!(&opus[id..id + 8], b"OpusHead");
    let mut b = opus.clone();
    b[id + 9] = 9;
    b[id + 18] = 1; // channel mapping family 1 (the table is cut short)
    fix_ogg_crcs(&mut b);
    let err = decode_audio(&b).unwrap_err();
    assert!(
        matches!(err, AudioError::Channels { channels: 9, .. }),
        "{err}"
    );
}

#[test]
fn fail_headers_promising_more_than_the_file_holds_do_not_allocate() {
    // FLAC: STREAMINFO promising 2^36 - 1 samples (about 50 days at 16 kHz).
    let mut b = bytes("visit.flac");
    let packed = u64::from_be_bytes(b[18..26].try_into().unwrap());
    b[18..26].copy_from_slice(&(packed | 0xf_ffff_ffff).to_be_bytes());
    let err = decode_audio(&b).unwrap_err();
    assert!(
        matches!(
            err,
            AudioError::Truncated {
                promised_samples: 0xf_ffff_ffff,
                held_samples: 56_000,
                ..
            } | AudioError::CutShort { .. }
        ),
        "{err}"
    );
    // MP3: a LAME tag stating 4 GiB of audio.
    let mut b = bytes("visit.mp3");
    let lame = b.windows(4).position(|w| w == b"Lavc").unwrap();
    b[lame + 28..lame + 32].copy_from_slice(&u32::MAX.to_be_bytes());
    let err = decode_audio(&b).unwrap_err();
    assert!(matches!(err, AudioError::CutShort { .. }), "{err}");
    // Ogg: a page whose segment table claims 255 segments of 255 bytes.
    let mut b = bytes("visit.ogg");
    let (pos, _) = ogg_pages(&b)[2];
    b[pos + 26] = 255;
    let err = decode_audio(&b).unwrap_err();
    assert!(
        matches!(
            err,
            AudioError::CutShort { .. } | AudioError::Corrupt { .. }
        ),
        "{err}"
    );
}

#[test]
fn messages_are_for_the_person_holding_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let whole = bytes("visit.opus");
    let err = read_as(dir.path(), "clinic_visit.opus", &whole[..whole.len() / 2]).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("clinic_visit.opus")
            && msg.contains("partial Opus recording")
            && msg.contains("refusing to import"),
        "{msg}"
    );
    let mut b = whole.clone();
    let body = ogg_pages(&b)[3].0 + 40;
    b[body] ^= 1;
    let msg = read_as(dir.path(), "clinic_visit.opus", &b)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("damaged Opus recording"), "{msg}");
    // The encoding error no longer sends everyone to WAV alone.
    let msg = AudioError::UnsupportedEncoding {
        origin: "x.m4a".into(),
        encoding: "ALAC".into(),
    }
    .to_string();
    assert!(msg.contains("FLAC") && msg.contains("Opus"), "{msg}");
}
