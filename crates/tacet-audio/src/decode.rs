//! Recordings people have: WAV, FLAC, MP3, M4A (AAC), OGG Vorbis and Opus,
//! decoded to [`PcmAudio`] with the same refusals the WAV path makes.
//!
//! How a file is read:
//! - **The bytes decide, never the file name.** A file that starts with a
//!   RIFF header goes to the hardened hound reader in `wav.rs`. Symphonia's
//!   WAV reader was measured against it (`wav_choice` below): it refuses the
//!   same cut files, but cannot say how much is missing, and calls a header
//!   promising 4 GiB "malformed"; so hound keeps WAV. Everything else is
//!   probed by symphonia (pure Rust, the features this crate enables): FLAC,
//!   MP3 (MPEG layer III), AAC-LC in MP4/M4A or raw ADTS, and Ogg holding
//!   Vorbis or Opus.
//! - **Opus.** Symphonia demuxes Ogg Opus (pages, granule positions, end
//!   trim) but has no Opus decoder, so the packets go to the `opus-decoder`
//!   crate: a pure-Rust port of the libopus decoder (SILK, CELT, hybrid,
//!   multistream for up to 8 channels) that passes the 12 RFC 8251
//!   conformance vectors, forbids `unsafe`, depends only on thiserror and
//!   builds with the workspace's Rust 1.85. The others weighed: `opus-pure`
//!   is as complete (and also decodes Ogg itself) but needs Rust 1.88;
//!   `mousiki` is a much larger port whose README still lists gaps; the
//!   `opus`/`audiopus` bindings need libopus compiled from C (cmake) or a
//!   system package. Output is 48 kHz, Opus' own rate, with the header's
//!   pre-skip dropped and its output gain applied (RFC 7845).
//! - **Structure first** (`container.rs`): before symphonia decodes, the
//!   bytes are walked for what it does not check: every Ogg page's CRC,
//!   order and end-of-stream mark; MP4 boxes tiling the file, and the audio
//!   track's edit list (the AAC priming to drop and the length to keep:
//!   symphonia leaves 1024 to 2112 extra samples at the start); the MP3
//!   LAME tag's music length and CRC; FLAC's metadata blocks and STREAMINFO.
//! - **Refusals.** Garbage or an unknown container: [`AudioError::NotAudio`],
//!   which lists the formats Tacet reads. A codec Tacet has no decoder for
//!   (ALAC in M4A...): [`AudioError::UnsupportedEncoding`]. A checksum that
//!   fails, a packet a decoder rejects, a FLAC frame missing from the
//!   sequence, a header that contradicts itself: [`AudioError::Corrupt`]
//!   (no decoder is left to skip a damaged packet and play on). A file cut
//!   short is never returned as a shorter recording: stopping inside a
//!   frame, page, box or tag, or an Ogg stream without its end-of-stream
//!   page, is [`AudioError::CutShort`]; a length the container states (FLAC
//!   STREAMINFO, the MP3 Xing frame count, the MP4 edit or sample table, the
//!   Ogg final granule) that the decoded audio does not reach is
//!   [`AudioError::Truncated`], with both figures. A container with no audio
//!   frame is [`AudioError::Empty`].
//!
//!   What no check can see: a raw MP3 or ADTS stream with no Xing/LAME tag,
//!   cut exactly between two frames, is a valid shorter stream (neither
//!   format records its length anywhere else); and a changed byte inside an
//!   AAC frame, or an MP3 frame without a LAME music CRC, can decode to
//!   slightly different sound, since those formats carry no checksum.
//! - **Memory.** Nothing is sized from a header. Decoded audio grows packet
//!   by packet, and a file may not decode to more than
//!   [`MAX_SAMPLES_PER_BYTE`] samples per byte it holds (generous for real
//!   recordings, digital silence included), so a small hostile file cannot
//!   expand into gigabytes.
//! - **Decoder faults.** A panic inside a decoder on a hostile file is
//!   caught and refused as [`AudioError::Corrupt`] rather than taking the
//!   program down. Damaged-file properties found three in the dependencies:
//!   an out-of-range slice in `opus-decoder`'s hybrid redundancy path (any
//!   build), and overflow checks that fire only in debug builds, in its CELT
//!   collapse mask and in symphonia's Ogg Vorbis setup-header parsing.
//! - **One canonical form.** Rate and channel count are checked against the
//!   WAV bounds (4 kHz to 384 kHz, 1 to 8 channels) from the header before
//!   decoding, and the decoded buffers must keep them throughout; samples
//!   are checked finite and clamped to -1..=1 (lossy decoders overshoot).

use crate::container::{
    check_flac, check_mp3, check_mp4, check_ogg, ogg_first_packet_spec, sniff, Mp4Edit, OggWalk,
    Problem, Sniffed,
};
use crate::wav::decode_wav_from;
use crate::{AudioError, PcmAudio, MAX_CHANNELS, MAX_SAMPLE_RATE_HZ, MIN_SAMPLE_RATE_HZ};
use opus_decoder::{OpusDecoder, OpusMultistreamDecoder};
use std::io::Cursor;
use std::path::Path;
use symphonia::core::codecs::audio::well_known::{
    CODEC_ID_AAC, CODEC_ID_ALAC, CODEC_ID_FLAC, CODEC_ID_MP1, CODEC_ID_MP2, CODEC_ID_MP3,
    CODEC_ID_OPUS, CODEC_ID_SPEEX, CODEC_ID_VORBIS,
};
use symphonia::core::codecs::audio::{AudioCodecId, AudioCodecParameters, AudioDecoderOptions};
use symphonia::core::codecs::CodecParameters;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::units::Duration;

const BYTES_ORIGIN: &str = "audio data";

/// Most samples (all channels) a file may decode to per byte it holds.
/// Real recordings stay far below: 6 kbit/s Opus is 64 samples a byte,
/// FLAC digital silence a few hundred, Opus silence at most about 2000. A
/// file that decodes to more is refused.
pub const MAX_SAMPLES_PER_BYTE: usize = 4096;

/// Largest Opus packet duration (120 ms) at 48 kHz, per channel.
const OPUS_MAX_FRAMES_PER_PACKET: usize = 5760;

/// Decodes a recording held in memory: WAV, FLAC, MP3, M4A (AAC), OGG
/// Vorbis or Opus, recognised by its bytes. Errors say "audio data" as the
/// origin; use [`read_audio_file`] to have them name the file.
pub fn decode_audio(bytes: &[u8]) -> Result<PcmAudio, AudioError> {
    decode_audio_from(bytes, BYTES_ORIGIN)
}

/// Reads and decodes a recording (any format [`decode_audio`] reads); errors
/// name the file. The file's extension plays no part: a FLAC named `.mp3`
/// decodes as FLAC, and text named `.m4a` is refused as not a recording.
pub fn read_audio_file(path: &Path) -> Result<PcmAudio, AudioError> {
    let bytes = std::fs::read(path).map_err(|source| AudioError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    decode_audio_from(&bytes, &path.display().to_string())
}

fn decode_audio_from(bytes: &[u8], origin: &str) -> Result<PcmAudio, AudioError> {
    if bytes.is_empty() {
        return Err(AudioError::NotAudio {
            origin: origin.to_string(),
            problem: "the file is empty (0 bytes)".into(),
        });
    }
    // A decoder fault on a hostile file must end as a refusal, not take the
    // program (and the visit being documented) down with it. Nothing made
    // inside survives a panic: only `bytes` is shared, and it is read-only.
    // (libFuzzer's panic hook aborts before this catches, so fuzzing still
    // reports such faults.)
    let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // Any RIFF file goes to the WAV reader: its errors are the
        // clearest for a WAV, and it refuses RIFF that is not WAVE.
        if sniff(bytes) == Sniffed::Riff {
            decode_wav_from(bytes, origin)
        } else {
            decode_with_symphonia(bytes, origin)
        }
    }));
    decoded.unwrap_or_else(|_| {
        Err(AudioError::Corrupt {
            origin: origin.to_string(),
            format: sniff(bytes).label_of(bytes).to_string(),
            problem: "its audio data made the decoder fail".into(),
        })
    })
}

/// The person-facing name of a container, from symphonia's short name.
fn container_label(short_name: &str) -> &'static str {
    match short_name {
        "flac" => "FLAC",
        "mp1" | "mp2" | "mp3" => "MP3",
        "isomp4" => "M4A/MP4",
        "ogg" => "Ogg",
        "aac" => "AAC",
        "wave" | "wav" | "riff" => "WAV",
        _ => "audio",
    }
}

fn codec_label(codec: AudioCodecId) -> String {
    let name = match codec {
        c if c == CODEC_ID_AAC => "AAC",
        c if c == CODEC_ID_ALAC => "ALAC",
        c if c == CODEC_ID_FLAC => "FLAC",
        c if c == CODEC_ID_MP1 => "MPEG layer I",
        c if c == CODEC_ID_MP2 => "MPEG layer II",
        c if c == CODEC_ID_MP3 => "MP3",
        c if c == CODEC_ID_OPUS => "Opus",
        c if c == CODEC_ID_SPEEX => "Speex",
        c if c == CODEC_ID_VORBIS => "Vorbis",
        other => return format!("audio codec {other}"),
    };
    name.to_string()
}

/// Where a decode stands, for the errors that describe it.
struct Ctx<'a> {
    origin: &'a str,
    format: String,
}

impl Ctx<'_> {
    fn corrupt(&self, problem: impl Into<String>) -> AudioError {
        AudioError::Corrupt {
            origin: self.origin.to_string(),
            format: self.format.clone(),
            problem: problem.into(),
        }
    }

    fn cut_short(&self, problem: impl Into<String>) -> AudioError {
        AudioError::CutShort {
            origin: self.origin.to_string(),
            format: self.format.clone(),
            problem: problem.into(),
        }
    }

    /// A demuxer's error while reading packets.
    fn demux_error(&self, err: SymphoniaError) -> AudioError {
        match err {
            SymphoniaError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                self.cut_short("the file ends inside an audio frame")
            }
            SymphoniaError::IoError(e) => self.corrupt(format!("read error: {e}")),
            SymphoniaError::DecodeError(msg) => self.corrupt(format!("malformed container: {msg}")),
            SymphoniaError::Unsupported(what) => AudioError::UnsupportedEncoding {
                origin: self.origin.to_string(),
                encoding: format!("{} feature: {what}", self.format),
            },
            SymphoniaError::LimitError(what) => {
                self.corrupt(format!("it exceeds a safety limit ({what})"))
            }
            SymphoniaError::ResetRequired => {
                self.corrupt("its audio changes format partway through (a chained stream)")
            }
            other => self.corrupt(other.to_string()),
        }
    }

    /// A decoder's error on one packet: the recording is damaged there.
    fn packet_error(&self, err: SymphoniaError, index: u64) -> AudioError {
        match err {
            SymphoniaError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                self.corrupt(format!("audio packet {index} ends early"))
            }
            other => self.corrupt(format!("audio packet {index} does not decode ({other})")),
        }
    }
}

/// The WAV path's rate bounds, for every container.
fn check_rate(origin: &str, sample_rate_hz: u32) -> Result<(), AudioError> {
    if (MIN_SAMPLE_RATE_HZ..=MAX_SAMPLE_RATE_HZ).contains(&sample_rate_hz) {
        Ok(())
    } else {
        Err(AudioError::SampleRate {
            origin: origin.to_string(),
            sample_rate_hz,
        })
    }
}

/// The WAV path's channel bounds, for every container.
fn check_channels(origin: &str, channels: usize) -> Result<u16, AudioError> {
    match u16::try_from(channels) {
        Ok(c) if (1..=MAX_CHANNELS).contains(&c) => Ok(c),
        _ => Err(AudioError::Channels {
            origin: origin.to_string(),
            channels: u16::try_from(channels).unwrap_or(u16::MAX),
        }),
    }
}

/// Accumulates decoded interleaved samples, enforcing one spec throughout,
/// finite samples and the size bound.
struct Collector<'a> {
    ctx: &'a Ctx<'a>,
    spec: Option<(u32, u16)>,
    samples: Vec<f32>,
    max_samples: usize,
}

impl<'a> Collector<'a> {
    fn new(ctx: &'a Ctx<'a>, input_len: usize) -> Self {
        Collector {
            ctx,
            spec: None,
            samples: Vec::new(),
            max_samples: input_len.saturating_mul(MAX_SAMPLES_PER_BYTE),
        }
    }

    fn set_spec(&mut self, rate: u32, channels: usize) -> Result<(), AudioError> {
        check_rate(self.ctx.origin, rate)?;
        let ch = check_channels(self.ctx.origin, channels)?;
        match self.spec {
            None => {
                self.spec = Some((rate, ch));
                Ok(())
            }
            Some(s) if s == (rate, ch) => Ok(()),
            Some((r0, c0)) => Err(self.ctx.corrupt(format!(
                "it changes from {r0} Hz, {c0} channel(s) to {rate} Hz, {ch} channel(s) partway through"
            ))),
        }
    }

    fn push(&mut self, interleaved: &[f32]) -> Result<(), AudioError> {
        if self.samples.len().saturating_add(interleaved.len()) > self.max_samples {
            return Err(self
                .ctx
                .corrupt("it decodes to far more audio than a file of its size can hold"));
        }
        if let Some(i) = interleaved.iter().position(|s| !s.is_finite()) {
            return Err(AudioError::NonFinite {
                origin: self.ctx.origin.to_string(),
                index: self.samples.len() + i,
            });
        }
        self.samples
            .extend(interleaved.iter().map(|s| s.clamp(-1.0, 1.0)));
        Ok(())
    }
}

/// What the structural pre-checks learnt about the file.
struct Facts {
    sniffed: Sniffed,
    /// The MP4 audio track's edit (priming to drop, length to keep).
    mp4_edit: Option<Mp4Edit>,
    /// Whether symphonia's frame count is one the file states (rather than
    /// an estimate from the bitrate, which MP3 without a Xing frame count
    /// and raw ADTS get).
    length_is_stated: bool,
}

fn structural(origin: &str, format: &str, problem: Problem) -> AudioError {
    match problem {
        Problem::Cut(problem) => AudioError::CutShort {
            origin: origin.to_string(),
            format: format.to_string(),
            problem,
        },
        Problem::Corrupt(problem) => AudioError::Corrupt {
            origin: origin.to_string(),
            format: format.to_string(),
            problem,
        },
    }
}

fn pre_check(bytes: &[u8], origin: &str) -> Result<Facts, AudioError> {
    let sniffed = sniff(bytes);
    let label = sniffed.label_of(bytes);
    let mut facts = Facts {
        sniffed,
        mp4_edit: None,
        length_is_stated: true,
    };
    let fail = |p| structural(origin, label, p);
    let empty = || AudioError::Empty {
        origin: origin.to_string(),
    };
    match sniffed {
        Sniffed::Ogg => {
            if check_ogg(bytes).map_err(fail)? == OggWalk::NoAudio {
                return Err(empty());
            }
            if let Some((rate, channels)) = ogg_first_packet_spec(bytes) {
                check_rate(origin, rate)?;
                check_channels(origin, channels)?;
            }
        }
        Sniffed::Mp4 => facts.mp4_edit = check_mp4(bytes).map_err(fail)?,
        Sniffed::Mp3 => {
            let info = check_mp3(bytes).map_err(fail)?;
            if info.empty {
                return Err(empty());
            }
            facts.length_is_stated = info.counted_frames;
        }
        Sniffed::Flac => {
            let head = check_flac(bytes).map_err(fail)?;
            check_rate(origin, head.sample_rate_hz)?;
            check_channels(origin, usize::from(head.channels))?;
            if !head.has_audio_bytes {
                if head.total_frames == 0 {
                    return Err(empty());
                }
                return Err(AudioError::Truncated {
                    origin: origin.to_string(),
                    promised_samples: head.total_frames * u64::from(head.channels),
                    held_samples: 0,
                });
            }
        }
        Sniffed::Adts | Sniffed::Unknown => facts.length_is_stated = false,
        Sniffed::Riff => {}
    }
    Ok(facts)
}

fn decode_with_symphonia(bytes: &[u8], origin: &str) -> Result<PcmAudio, AudioError> {
    let facts = pre_check(bytes, origin)?;
    let mss = MediaSourceStream::new(
        Box::new(Cursor::new(bytes)),
        MediaSourceStreamOptions::default(),
    );
    let not_audio = |problem: String| AudioError::NotAudio {
        origin: origin.to_string(),
        problem,
    };
    let mut reader = symphonia::default::get_probe()
        .probe(
            &Hint::new(),
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|e| {
            let label = facts.sniffed.label_of(bytes);
            match (facts.sniffed, e) {
                (Sniffed::Unknown, _) => not_audio("no audio format recognised in it".into()),
                (_, SymphoniaError::IoError(e))
                    if e.kind() == std::io::ErrorKind::UnexpectedEof =>
                {
                    structural(
                        origin,
                        label,
                        Problem::Cut("it ends before its header does".into()),
                    )
                }
                (_, SymphoniaError::Unsupported(_)) => structural(
                    origin,
                    label,
                    Problem::Corrupt(format!("no readable {label} stream follows its header")),
                ),
                (_, other) => structural(
                    origin,
                    label,
                    Problem::Corrupt(format!("its header does not read ({other})")),
                ),
            }
        })?;

    let mut ctx = Ctx {
        origin,
        format: container_label(reader.format_info().short_name).to_string(),
    };
    // A container Tacet reads, with no audio track in it, holds no audio.
    let empty = || AudioError::Empty {
        origin: origin.to_string(),
    };
    let track = reader
        .default_track(TrackType::Audio)
        .or_else(|| reader.first_track(TrackType::Audio))
        .cloned()
        .ok_or_else(empty)?;
    let params = match &track.codec_params {
        Some(CodecParameters::Audio(p)) => p.clone(),
        _ => return Err(empty()),
    };
    if ctx.format == "Ogg" {
        ctx.format = match params.codec {
            c if c == CODEC_ID_OPUS => "Opus".into(),
            c if c == CODEC_ID_VORBIS => "OGG Vorbis".into(),
            c => format!("Ogg {}", codec_label(c)),
        };
    }

    // Refuse a rate or channel count out of bounds before decoding anything.
    if let Some(rate) = params.sample_rate {
        check_rate(origin, rate)?;
    }
    if let Some(ch) = &params.channels {
        check_channels(origin, ch.count())?;
    }

    let mut out = Collector::new(&ctx, bytes.len());
    let mut promised = track.num_frames.filter(|_| facts.length_is_stated);
    let mut checksum_ok = true;
    if params.codec == CODEC_ID_OPUS {
        let pre_skip = decode_opus(&mut *reader, track.id, &params, &ctx, &mut out)?;
        // The final granule position counts the pre-skip too.
        promised = promised.map(|n| n.saturating_sub(pre_skip));
    } else {
        checksum_ok =
            decode_symphonia_track(&mut *reader, track.id, &params, &facts, &ctx, &mut out)?;
    }

    let Some((sample_rate_hz, channels)) = out.spec else {
        // Nothing decoded: empty, unless the container promised audio.
        return Err(match promised.filter(|&n| n > 0) {
            Some(n) => {
                let ch = params.channels.as_ref().map_or(1, |c| c.count()) as u64;
                AudioError::Truncated {
                    origin: origin.to_string(),
                    promised_samples: n.saturating_mul(ch),
                    held_samples: 0,
                }
            }
            None => AudioError::Empty {
                origin: origin.to_string(),
            },
        });
    };
    let ch = usize::from(channels);
    let mut samples = out.samples;
    // A stated length counts frames at the stated rate; a decoder that
    // outputs another (AAC's core of an HE-AAC stream at half rate) makes
    // the two incomparable, and the structure checks are all that is left.
    if params.sample_rate.is_some_and(|r| r != sample_rate_hz) {
        promised = None;
    }

    // MP4: drop the encoder's priming and padding as the edit list says.
    if let Some(edit) = facts.mp4_edit.filter(|e| {
        e.track_id == track.id
            && e.timescale == sample_rate_hz
            && e.skip <= (samples.len() / ch) as u64
    }) {
        samples.drain(..(edit.skip as usize) * ch);
        let held = (samples.len() / ch) as u64;
        if held.saturating_add(edit.slack) < edit.keep {
            return Err(AudioError::Truncated {
                origin: origin.to_string(),
                promised_samples: edit.keep.saturating_mul(ch as u64),
                held_samples: held.saturating_mul(ch as u64),
            });
        }
        samples.truncate((edit.keep.min(held) as usize) * ch);
        promised = None;
    }

    let held = (samples.len() / ch) as u64;
    if held == 0 {
        return Err(AudioError::Empty {
            origin: origin.to_string(),
        });
    }
    // A length the container states must be reached.
    if let Some(promised) = promised {
        if held < promised {
            return Err(AudioError::Truncated {
                origin: origin.to_string(),
                promised_samples: promised.saturating_mul(ch as u64),
                held_samples: held.saturating_mul(ch as u64),
            });
        }
    }
    if !checksum_ok {
        return Err(
            ctx.corrupt("its decoded audio does not match the checksum stored in its header")
        );
    }
    Ok(PcmAudio {
        sample_rate_hz,
        channels,
        samples,
    })
}

fn decode_symphonia_track(
    reader: &mut dyn FormatReader,
    track_id: u32,
    params: &AudioCodecParameters,
    facts: &Facts,
    ctx: &Ctx<'_>,
    out: &mut Collector<'_>,
) -> Result<bool, AudioError> {
    let options = AudioDecoderOptions::default().verify(true);
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(params, &options)
        .map_err(|e| match e {
            SymphoniaError::Unsupported(_) => AudioError::UnsupportedEncoding {
                origin: ctx.origin.to_string(),
                encoding: format!(
                    "{} audio in its {} container",
                    codec_label(params.codec),
                    ctx.format
                ),
            },
            other => ctx.corrupt(format!("its codec header does not read ({other})")),
        })?;
    let mut scratch: Vec<f32> = Vec::new();
    let mut index = 0u64;
    // FLAC frames say where they start (the first at 0): one that does not
    // follow on from the last means the demuxer skipped a frame that failed
    // its CRC.
    let mut next_pts: Option<i64> = Some(0);
    while let Some(mut packet) = reader.next_packet().map_err(|e| ctx.demux_error(e))? {
        if packet.track_id != track_id {
            continue;
        }
        if facts.sniffed == Sniffed::Flac {
            let pts = packet.pts.get();
            if next_pts.is_some_and(|n| n != pts) {
                return Err(ctx.corrupt(format!(
                    "frame {index} fails its checksum or is missing, so audio is lost there"
                )));
            }
            next_pts = pts.checked_add(i64::try_from(packet.dur.get()).unwrap_or(i64::MAX));
        }
        if !facts.length_is_stated {
            // An estimated length must not cut real audio off the end.
            packet.trim_end = Duration::ZERO;
        }
        let buf = match decoder.decode(&packet) {
            Ok(buf) => buf,
            // The first packet naming a feature the decoder lacks is an
            // encoding Tacet does not read; later, it is damage.
            Err(SymphoniaError::Unsupported(what)) if index == 0 => {
                return Err(AudioError::UnsupportedEncoding {
                    origin: ctx.origin.to_string(),
                    encoding: format!("{} feature: {what}", codec_label(params.codec)),
                })
            }
            Err(e) => return Err(ctx.packet_error(e, index)),
        };
        index += 1;
        if buf.frames() == 0 {
            continue;
        }
        out.set_spec(buf.spec().rate(), buf.spec().channels().count())?;
        buf.copy_to_vec_interleaved(&mut scratch);
        out.push(&scratch)?;
    }
    // FLAC's STREAMINFO MD5 of the audio; judged after the length, so a
    // file cut between frames is reported as truncated, not damaged.
    Ok(decoder.finalize().verify_ok != Some(false))
}

/// The fields of an Ogg Opus identification header (RFC 7845 section 5.1)
/// that decoding needs.
#[derive(Debug)]
struct OpusHead {
    channels: usize,
    pre_skip: u64,
    output_gain_q8: i16,
    /// `None` for mapping family 0 (mono or stereo, one stream).
    multistream: Option<(usize, usize, Vec<u8>)>,
}

fn parse_opus_head(data: &[u8], ctx: &Ctx<'_>) -> Result<OpusHead, AudioError> {
    let bad = |what: &str| ctx.corrupt(format!("its Opus header {what}"));
    if data.len() < 19 || &data[..8] != b"OpusHead" {
        return Err(bad("is missing or too short"));
    }
    let channels = usize::from(data[9]);
    let pre_skip = u64::from(u16::from_le_bytes([data[10], data[11]]));
    let output_gain_q8 = i16::from_le_bytes([data[16], data[17]]);
    let family = data[18];
    check_channels(ctx.origin, channels)?;
    let multistream = match family {
        0 => {
            if channels > 2 {
                return Err(bad("says more than 2 channels for a single stream"));
            }
            None
        }
        1 => {
            let table = data
                .get(19..21 + channels)
                .ok_or_else(|| bad("ends before its channel mapping"))?;
            let streams = usize::from(table[0]);
            let coupled = usize::from(table[1]);
            if streams == 0 || coupled > streams {
                return Err(bad("has an impossible stream count"));
            }
            Some((streams, coupled, table[2..].to_vec()))
        }
        other => {
            return Err(AudioError::UnsupportedEncoding {
                origin: ctx.origin.to_string(),
                encoding: format!("Opus channel mapping family {other}"),
            })
        }
    };
    Ok(OpusHead {
        channels,
        pre_skip,
        output_gain_q8,
        multistream,
    })
}

enum AnyOpusDecoder {
    Single(Box<OpusDecoder>),
    Multi(OpusMultistreamDecoder),
}

impl AnyOpusDecoder {
    fn decode_float(&mut self, packet: &[u8], pcm: &mut [f32]) -> Result<usize, String> {
        match self {
            AnyOpusDecoder::Single(d) => d.decode_float(packet, pcm, false),
            AnyOpusDecoder::Multi(d) => d.decode_float(packet, pcm, false),
        }
        .map_err(|e| e.to_string())
    }
}

/// Ogg Opus: symphonia demuxes (pages, granule positions, end trim), the
/// `opus-decoder` crate decodes, and the header's pre-skip is dropped here.
fn decode_opus(
    reader: &mut dyn FormatReader,
    track_id: u32,
    params: &AudioCodecParameters,
    ctx: &Ctx<'_>,
    out: &mut Collector<'_>,
) -> Result<u64, AudioError> {
    let head = parse_opus_head(params.extra_data.as_deref().unwrap_or(&[]), ctx)?;
    let mut decoder = match &head.multistream {
        None => {
            OpusDecoder::new(48_000, head.channels).map(|d| AnyOpusDecoder::Single(Box::new(d)))
        }
        Some((streams, coupled, mapping)) => {
            OpusMultistreamDecoder::new(48_000, head.channels, *streams, *coupled, mapping)
                .map(AnyOpusDecoder::Multi)
        }
    }
    .map_err(|e| ctx.corrupt(format!("its Opus header is not usable ({e})")))?;
    out.set_spec(48_000, head.channels)?;
    // RFC 7845: the output gain (Q7.8 dB) is applied to every sample.
    let gain = 10f32.powf(f32::from(head.output_gain_q8) / (20.0 * 256.0));
    let mut pcm = vec![0f32; OPUS_MAX_FRAMES_PER_PACKET * head.channels];
    let mut to_skip = head.pre_skip;
    let mut index = 0u64;
    while let Some(packet) = reader.next_packet().map_err(|e| ctx.demux_error(e))? {
        if packet.track_id != track_id {
            continue;
        }
        if packet.data.is_empty() {
            return Err(ctx.corrupt(format!("audio packet {index} is empty")));
        }
        let frames = decoder
            .decode_float(&packet.data, &mut pcm)
            .map_err(|e| ctx.corrupt(format!("audio packet {index} does not decode ({e})")))?;
        index += 1;
        let frames = frames.min(OPUS_MAX_FRAMES_PER_PACKET) as u64;
        // The demuxer's end trim (from the final granule position) cuts the
        // encoder's padding off the last packet.
        let trim_end = packet.trim_end.get().min(frames);
        let mut start = 0u64;
        if to_skip > 0 {
            start = to_skip.min(frames);
            to_skip -= start;
        }
        let end = frames - trim_end;
        if start < end {
            let ch = head.channels as u64;
            let slice = &mut pcm[(start * ch) as usize..(end * ch) as usize];
            if gain != 1.0 {
                slice.iter_mut().for_each(|s| *s *= gain);
            }
            out.push(slice)?;
        }
    }
    Ok(head.pre_skip)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Ctx<'static> {
        Ctx {
            origin: "x.ogg",
            format: "OGG Vorbis".into(),
        }
    }

    #[test]
    fn codec_labels_are_readable() {
        assert_eq!(codec_label(CODEC_ID_ALAC), "ALAC");
        assert_eq!(codec_label(CODEC_ID_OPUS), "Opus");
    }

    #[test]
    fn fail_non_finite_samples_are_refused_with_their_index() {
        let ctx = ctx();
        let mut out = Collector::new(&ctx, 1000);
        out.set_spec(16_000, 2).unwrap();
        out.push(&[0.1, 0.2, 0.3, 0.4]).unwrap();
        let err = out.push(&[0.5, f32::INFINITY]).unwrap_err();
        assert!(
            matches!(err, AudioError::NonFinite { index: 5, .. }),
            "{err}"
        );
        let err = out.push(&[f32::NAN]).unwrap_err();
        assert!(
            matches!(err, AudioError::NonFinite { index: 4, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("x.ogg"));
    }

    #[test]
    fn samples_are_clamped_to_full_scale() {
        let ctx = ctx();
        let mut out = Collector::new(&ctx, 1000);
        out.set_spec(16_000, 1).unwrap();
        out.push(&[1.2, -3.0, 0.5]).unwrap();
        assert_eq!(out.samples, vec![1.0, -1.0, 0.5]);
    }

    #[test]
    fn fail_more_audio_than_the_bytes_can_hold() {
        let ctx = ctx();
        let mut out = Collector::new(&ctx, 1);
        out.set_spec(48_000, 1).unwrap();
        out.push(&vec![0.0; MAX_SAMPLES_PER_BYTE]).unwrap();
        let err = out.push(&[0.0]).unwrap_err();
        assert!(matches!(err, AudioError::Corrupt { .. }), "{err}");
    }

    #[test]
    fn fail_spec_changing_partway() {
        let ctx = ctx();
        let mut out = Collector::new(&ctx, 1000);
        out.set_spec(44_100, 2).unwrap();
        out.set_spec(44_100, 2).unwrap();
        let err = out.set_spec(22_050, 2).unwrap_err();
        assert!(matches!(err, AudioError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("partway"), "{err}");
        assert!(matches!(
            out.set_spec(44_100, 9),
            Err(AudioError::Channels { channels: 9, .. })
        ));
        assert!(matches!(
            out.set_spec(400_000, 2),
            Err(AudioError::SampleRate { .. })
        ));
    }

    fn opus_head(channels: u8, family: u8, tail: &[u8]) -> Vec<u8> {
        let mut h = b"OpusHead\x01".to_vec();
        h.push(channels);
        h.extend_from_slice(&312u16.to_le_bytes());
        h.extend_from_slice(&48_000u32.to_le_bytes());
        h.extend_from_slice(&0i16.to_le_bytes());
        h.push(family);
        h.extend_from_slice(tail);
        h
    }

    #[test]
    fn opus_heads_are_checked() {
        let ctx = ctx();
        let head = parse_opus_head(&opus_head(2, 0, &[]), &ctx).unwrap();
        assert_eq!((head.channels, head.pre_skip), (2, 312));
        assert!(head.multistream.is_none());
        let head = parse_opus_head(&opus_head(3, 1, &[2, 1, 0, 1, 2]), &ctx).unwrap();
        assert_eq!(head.multistream, Some((2, 1, vec![0, 1, 2])));
        for (bytes, what) in [
            (opus_head(3, 0, &[]), "3 channels in one stream"),
            (opus_head(3, 1, &[2, 1, 0]), "mapping cut short"),
            (opus_head(2, 1, &[0, 0, 0, 1]), "no streams"),
            (opus_head(2, 1, &[1, 2, 0, 1]), "more coupled than streams"),
            (b"OpusHead".to_vec(), "header cut short"),
        ] {
            let err = parse_opus_head(&bytes, &ctx).unwrap_err();
            assert!(matches!(err, AudioError::Corrupt { .. }), "{what}: {err}");
        }
        assert!(matches!(
            parse_opus_head(&opus_head(0, 0, &[]), &ctx),
            Err(AudioError::Channels { channels: 0, .. })
        ));
        assert!(matches!(
            parse_opus_head(&opus_head(2, 255, &[]), &ctx),
            Err(AudioError::UnsupportedEncoding { .. })
        ));
    }
}

/// Why WAV stays with hound: symphonia's WAV reader (behind the checks
/// above) refuses the same files, but says less about a cut one and nothing
/// of how much a hostile header promised.
#[cfg(test)]
mod wav_choice {
    use super::*;

    fn wav(frames: usize) -> Vec<u8> {
        let data_len = (frames * 2) as u32;
        let mut b = Vec::new();
        b.extend_from_slice(b"RIFF");
        b.extend_from_slice(&(36 + data_len).to_le_bytes());
        b.extend_from_slice(b"WAVEfmt ");
        b.extend_from_slice(&16u32.to_le_bytes());
        b.extend_from_slice(&1u16.to_le_bytes()); // PCM
        b.extend_from_slice(&1u16.to_le_bytes()); // mono
        b.extend_from_slice(&16_000u32.to_le_bytes());
        b.extend_from_slice(&32_000u32.to_le_bytes());
        b.extend_from_slice(&2u16.to_le_bytes());
        b.extend_from_slice(&16u16.to_le_bytes());
        b.extend_from_slice(b"data");
        b.extend_from_slice(&data_len.to_le_bytes());
        for i in 0..frames {
            b.extend_from_slice(&((i as i16).wrapping_mul(37)).to_le_bytes());
        }
        b
    }

    #[test]
    fn both_refuse_a_cut_wav_but_only_hound_counts_what_is_missing() {
        let full = wav(1000);
        for cut in [1usize, 200, 1900] {
            let bytes = &full[..full.len() - cut];
            assert!(decode_with_symphonia(bytes, "x").is_err(), "cut {cut}");
            assert!(
                matches!(
                    decode_wav_from(bytes, "x"),
                    Err(AudioError::Truncated {
                        promised_samples: 1000,
                        ..
                    })
                ),
                "cut {cut}"
            );
        }
        // Cut mid-data: symphonia knows only that the file ended early.
        let bytes = &full[..full.len() - 200];
        assert!(matches!(
            decode_with_symphonia(bytes, "x"),
            Err(AudioError::CutShort { .. })
        ));
        assert!(matches!(
            decode_audio(bytes),
            Err(AudioError::Truncated {
                promised_samples: 1000,
                held_samples: 900,
                ..
            })
        ));
        // A header promising 4 GiB: hound says so, symphonia calls it malformed.
        let mut huge = wav(4);
        huge[40..44].copy_from_slice(&0xFFFF_FFFEu32.to_le_bytes());
        assert!(matches!(
            decode_with_symphonia(&huge, "x"),
            Err(AudioError::Corrupt { .. })
        ));
        assert!(matches!(
            decode_audio(&huge),
            Err(AudioError::Truncated { .. })
        ));
        // The same samples either way for a sound file.
        let a = decode_with_symphonia(&full, "x").map(|p| p.samples);
        let b = decode_audio(&full).map(|p| p.samples);
        assert_eq!(a.ok(), b.ok());
    }
}
