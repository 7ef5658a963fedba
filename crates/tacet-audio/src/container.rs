//! Structural checks symphonia does not make, run on the raw bytes before it
//! decodes: they are what tells a file cut short or damaged in transit from
//! a complete recording.
//!
//! - **Ogg** (Vorbis, Opus): every page must follow the last with no gap,
//!   fit in the file, pass its CRC-32, keep its stream's sequence numbers
//!   consecutive, and each stream must end with its end-of-stream page.
//!   (Symphonia skips a page whose checksum fails and plays on.)
//! - **MP4/M4A**: the top-level boxes must tile the file (one running past
//!   the end means the file was cut); the audio track's edit list gives the
//!   encoder priming to drop and the exact length to keep (symphonia does
//!   not apply edit lists, so AAC would come back 1024 to 2112 samples long
//!   at the start).
//! - **MP3**: the Xing/Info frame's LAME extension, when an encoder wrote
//!   one (LAME and FFmpeg do), states the length of the audio in bytes and a
//!   CRC-16 of it: a file shorter than that was cut, and a mismatch means
//!   damaged audio (MP3 frames carry no checksum of their own). Whether the
//!   Xing frame states a frame count says whether symphonia's length is one
//!   the file promised or one it estimated from the bitrate.
//!
//! Every read is bounds-checked against the bytes present; nothing is
//! allocated from a size a header states.

/// What a structural check found wrong.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Problem {
    /// The file stops before its structure does.
    Cut(String),
    /// The structure contradicts itself or a checksum fails.
    Corrupt(String),
}

/// A container recognised from its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sniffed {
    Riff,
    Flac,
    Ogg,
    Mp4,
    Mp3,
    Adts,
    Unknown,
}

impl Sniffed {
    /// The person-facing name of the container (for Ogg, of what it holds,
    /// read from its first packet).
    pub(crate) fn label_of(self, bytes: &[u8]) -> &'static str {
        if self == Sniffed::Ogg {
            let first = bytes
                .get(26)
                .and_then(|&n| bytes.get(27 + usize::from(n)..))
                .unwrap_or(&[]);
            if first.starts_with(b"OpusHead") {
                return "Opus";
            }
            if first.starts_with(b"\x01vorbis") {
                return "OGG Vorbis";
            }
        }
        self.label()
    }

    /// The person-facing name of the container.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Sniffed::Riff => "WAV",
            Sniffed::Flac => "FLAC",
            Sniffed::Ogg => "Ogg",
            Sniffed::Mp4 => "M4A/MP4",
            Sniffed::Mp3 => "MP3",
            Sniffed::Adts => "AAC",
            Sniffed::Unknown => "audio",
        }
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn be64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Length of a leading ID3v2 tag (header, body and footer), if there is one.
fn id3v2_len(b: &[u8]) -> Option<usize> {
    if b.len() < 10 || &b[..3] != b"ID3" {
        return None;
    }
    let mut size = 0usize;
    for &x in &b[6..10] {
        size = (size << 7) | usize::from(x & 0x7f);
    }
    let footer = if b[5] & 0x10 != 0 { 10 } else { 0 };
    Some(10 + size + footer)
}

/// Recognises the container from its magic bytes (an ID3v2 tag in front
/// is skipped: MP3 and, rarely, FLAC files carry one).
pub(crate) fn sniff(bytes: &[u8]) -> Sniffed {
    let body = match id3v2_len(bytes) {
        Some(n) => bytes.get(n..).unwrap_or(&[]),
        None => bytes,
    };
    if bytes.starts_with(b"RIFF") {
        Sniffed::Riff
    } else if body.starts_with(b"fLaC") {
        Sniffed::Flac
    } else if body.starts_with(b"OggS") {
        Sniffed::Ogg
    } else if body.get(4..8).is_some_and(|t| {
        matches!(
            t,
            b"ftyp" | b"moov" | b"mdat" | b"free" | b"skip" | b"wide" | b"pnot"
        )
    }) {
        Sniffed::Mp4
    } else if mp3_header(body).is_some() {
        Sniffed::Mp3
    } else if body.len() >= 2 && body[0] == 0xff && body[1] & 0xf6 == 0xf0 {
        Sniffed::Adts
    } else if id3v2_len(bytes).is_some() {
        // An ID3 tag with something unrecognisable after it: most likely
        // an MP3 whose first frame is damaged.
        Sniffed::Mp3
    } else {
        Sniffed::Unknown
    }
}

// ---------------------------------------------------------------- Ogg ----

/// CRC-32 of Ogg pages (polynomial 0x04c11db7, no reflection, initial 0),
/// continued from `crc` over `data`.
fn ogg_crc(crc: u32, data: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, e) in t.iter_mut().enumerate() {
            let mut r = (i as u32) << 24;
            for _ in 0..8 {
                r = if r & 0x8000_0000 != 0 {
                    (r << 1) ^ 0x04c1_1db7
                } else {
                    r << 1
                };
            }
            *e = r;
        }
        t
    });
    data.iter().fold(crc, |crc, &b| {
        (crc << 8) ^ table[((crc >> 24) as u8 ^ b) as usize]
    })
}

/// The rate and channel count the first packet of an Ogg stream states:
/// the Vorbis identification header, or the Opus header (whose output is
/// always 48 kHz). `None` for anything else.
pub(crate) fn ogg_first_packet_spec(bytes: &[u8]) -> Option<(u32, usize)> {
    let first = bytes
        .get(26)
        .and_then(|&n| bytes.get(27 + usize::from(n)..))?;
    if first.starts_with(b"\x01vorbis") {
        Some((le32(first, 12)?, usize::from(*first.get(11)?)))
    } else if first.starts_with(b"OpusHead") {
        Some((48_000, usize::from(*first.get(9)?)))
    } else {
        None
    }
}

/// What the Ogg walk found: whether any page carries audio (a granule
/// position past 0). Header pages closed by an end-of-stream page hold no
/// audio.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum OggWalk {
    Audio,
    NoAudio,
}

/// Walks every Ogg page: contiguous, inside the file, checksums right,
/// sequence numbers consecutive per stream, every stream closed by its
/// end-of-stream page.
pub(crate) fn check_ogg(bytes: &[u8]) -> Result<OggWalk, Problem> {
    // (serial, next expected sequence number, end-of-stream seen)
    let mut streams: Vec<(u32, u32, bool)> = Vec::new();
    let mut pos = 0usize;
    let mut page_no = 0usize;
    let mut audio = false;
    // Packets completed (a lacing value under 255 ends one).
    let mut packets = 0usize;
    while pos < bytes.len() {
        let page = &bytes[pos..];
        if page.len() < 27 {
            if b"OggS".starts_with(&page[..page.len().min(4)]) {
                return Err(Problem::Cut(format!(
                    "it ends inside the header of page {page_no}"
                )));
            }
            return Err(Problem::Corrupt(format!(
                "{} stray bytes follow its last page",
                page.len()
            )));
        }
        if &page[..4] != b"OggS" {
            return Err(Problem::Corrupt(format!(
                "page {page_no} does not start where the previous one ended"
            )));
        }
        let flags = page[5];
        // -1 marks a page on which no packet ends.
        let granule = i64::from_le_bytes(page[6..14].try_into().unwrap_or([0; 8]));
        let serial = le32(page, 14).unwrap_or(0);
        let seq = le32(page, 18).unwrap_or(0);
        let stored_crc = le32(page, 22).unwrap_or(0);
        let segments = usize::from(page[26]);
        let Some(table) = page.get(27..27 + segments) else {
            return Err(Problem::Cut(format!(
                "it ends inside the header of page {page_no}"
            )));
        };
        let body: usize = table.iter().map(|&x| usize::from(x)).sum();
        let len = 27 + segments + body;
        let Some(whole) = page.get(..len) else {
            return Err(Problem::Cut(format!(
                "page {page_no} needs {len} bytes, {} are left",
                page.len()
            )));
        };
        // The checksum covers the page with its own field read as zeros.
        let crc = ogg_crc(ogg_crc(ogg_crc(0, &whole[..22]), &[0; 4]), &whole[26..]);
        if crc != stored_crc {
            return Err(Problem::Corrupt(format!(
                "page {page_no} fails its checksum"
            )));
        }
        match streams.iter_mut().find(|s| s.0 == serial) {
            None => {
                if flags & 0x02 == 0 {
                    return Err(Problem::Corrupt(format!(
                        "page {page_no} continues a stream that never began"
                    )));
                }
                streams.push((serial, seq.wrapping_add(1), flags & 0x04 != 0));
            }
            Some(s) => {
                if s.2 {
                    return Err(Problem::Corrupt(format!(
                        "page {page_no} comes after its stream's end-of-stream page"
                    )));
                }
                if seq != s.1 {
                    return Err(Problem::Corrupt(format!(
                        "pages are missing before page {page_no} (sequence {} expected, {seq} found)",
                        s.1
                    )));
                }
                s.1 = seq.wrapping_add(1);
                s.2 = flags & 0x04 != 0;
            }
        }
        audio |= granule > 0;
        packets += table.iter().filter(|&&x| x < 255).count();
        pos += len;
        page_no += 1;
    }
    if !audio {
        // Vorbis needs three header packets before audio, Opus two.
        let headers = match Sniffed::Ogg.label_of(bytes) {
            "Opus" => 2,
            "OGG Vorbis" => 3,
            _ => 1,
        };
        if packets < headers {
            return Err(Problem::Cut(
                "it ends before its headers are complete".into(),
            ));
        }
        // Closed by its end-of-stream page: a recording of nothing.
        // Without it, one that stopped before its first audio page.
        if streams.iter().all(|s| s.2) {
            return Ok(OggWalk::NoAudio);
        }
        return Err(Problem::Cut(
            "it ends after its headers, before any audio or its end-of-stream page".into(),
        ));
    }
    if streams.iter().any(|s| !s.2) {
        return Err(Problem::Cut("it ends before its end-of-stream page".into()));
    }
    Ok(OggWalk::Audio)
}

// ---------------------------------------------------------------- MP4 ----

/// The audio track's single edit: drop `skip` frames (encoder priming) at
/// the start and keep `keep` frames (both in the track's own timescale,
/// which for audio is its sample rate).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Mp4Edit {
    pub track_id: u32,
    pub skip: u64,
    pub keep: u64,
    /// The track's timescale, to be checked against the decoded rate.
    pub timescale: u32,
    /// How far `keep` may be off: the edit states it in the movie's
    /// timescale, often milliseconds.
    pub slack: u64,
}

/// One box: (type, content range start, end) within `b`.
struct BoxIter<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for BoxIter<'a> {
    type Item = Result<([u8; 4], &'a [u8]), Problem>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.b.get(self.pos..)?;
        if rest.is_empty() {
            return None;
        }
        let boxed = (|| {
            if rest.len() < 8 {
                return Err(Problem::Cut("it ends inside a box header".into()));
            }
            let size32 = be32(rest, 0).unwrap_or(0);
            let mut kind = [0u8; 4];
            kind.copy_from_slice(&rest[4..8]);
            let (header, size) = match size32 {
                0 => (8usize, rest.len() as u64),
                1 => {
                    let Some(large) = be64(rest, 8) else {
                        return Err(Problem::Cut("it ends inside a box header".into()));
                    };
                    (16usize, large)
                }
                n => (8usize, u64::from(n)),
            };
            if size < header as u64 {
                return Err(Problem::Corrupt(format!(
                    "its '{}' box has an impossible size",
                    String::from_utf8_lossy(&kind)
                )));
            }
            if size > rest.len() as u64 {
                return Err(Problem::Cut(format!(
                    "its '{}' box needs {size} bytes, {} are left",
                    String::from_utf8_lossy(&kind),
                    rest.len()
                )));
            }
            let size = size as usize;
            Ok((kind, &rest[header..size], size))
        })();
        match boxed {
            Ok((kind, content, size)) => {
                self.pos += size;
                Some(Ok((kind, content)))
            }
            Err(e) => {
                self.pos = self.b.len();
                Some(Err(e))
            }
        }
    }
}

fn boxes(b: &[u8]) -> BoxIter<'_> {
    BoxIter { b, pos: 0 }
}

fn child<'a>(b: &'a [u8], kind: &[u8; 4]) -> Result<Option<&'a [u8]>, Problem> {
    for item in boxes(b) {
        let (k, content) = item?;
        if &k == kind {
            return Ok(Some(content));
        }
    }
    Ok(None)
}

/// (timescale, duration) of an `mvhd` or `mdhd` box.
fn timescale_of(content: &[u8]) -> Option<(u32, u64)> {
    if content.first()? == &1 {
        Some((be32(content, 20)?, be64(content, 24)?))
    } else {
        Some((be32(content, 12)?, u64::from(be32(content, 16)?)))
    }
}

/// Checks the top-level boxes tile the file and reads the first audio
/// track's edit list, when it has one plain edit.
pub(crate) fn check_mp4(bytes: &[u8]) -> Result<Option<Mp4Edit>, Problem> {
    let mut moov = None;
    for item in boxes(bytes) {
        let (kind, content) = item?;
        if &kind == b"moov" && moov.is_none() {
            moov = Some(content);
        }
    }
    let Some(moov) = moov else {
        return Ok(None);
    };
    let movie_timescale = match child(moov, b"mvhd")?.and_then(timescale_of) {
        Some((ts, _)) if ts > 0 => ts,
        _ => return Ok(None),
    };
    for item in boxes(moov) {
        let (kind, trak) = item?;
        if &kind != b"trak" {
            continue;
        }
        let Some(mdia) = child(trak, b"mdia")? else {
            continue;
        };
        let is_audio = child(mdia, b"hdlr")?
            .and_then(|h| h.get(8..12))
            .is_some_and(|t| t == b"soun");
        if !is_audio {
            continue;
        }
        let track_id = match child(trak, b"tkhd")? {
            Some(t) if t.first() == Some(&1) => be32(t, 20),
            Some(t) => be32(t, 12),
            None => None,
        };
        let timescale = child(mdia, b"mdhd")?.and_then(timescale_of).map(|t| t.0);
        let elst = match child(trak, b"edts")? {
            Some(edts) => child(edts, b"elst")?,
            None => None,
        };
        let (Some(track_id), Some(timescale), Some(elst)) = (track_id, timescale, elst) else {
            return Ok(None);
        };
        return Ok(
            plain_edit(elst, movie_timescale, timescale).map(|(skip, keep)| Mp4Edit {
                track_id,
                skip,
                keep,
                timescale,
                slack: u64::from(timescale.div_ceil(movie_timescale)),
            }),
        );
    }
    Ok(None)
}

/// The one non-empty edit of an `elst` box as (skip, keep) in the media
/// timescale; `None` for anything more elaborate (then nothing is trimmed).
fn plain_edit(elst: &[u8], movie_ts: u32, media_ts: u32) -> Option<(u64, u64)> {
    let v1 = elst.first()? == &1;
    let count = be32(elst, 4)? as usize;
    let entry_len = if v1 { 20 } else { 12 };
    let mut found = None;
    for i in 0..count {
        let at = 8usize.checked_add(i.checked_mul(entry_len)?)?;
        let (segment, media_time) = if v1 {
            (be64(elst, at)?, be64(elst, at + 8)? as i64)
        } else {
            (
                u64::from(be32(elst, at)?),
                i64::from(be32(elst, at + 4)? as i32),
            )
        };
        if media_time == -1 {
            continue; // an empty edit: a pause before the track, not trimming
        }
        let rate = be16(elst, at + entry_len - 4)?;
        if found.is_some() || media_time < 0 || rate != 1 || movie_ts == 0 {
            return None;
        }
        let keep = (u128::from(segment) * u128::from(media_ts) + u128::from(movie_ts) / 2)
            / u128::from(movie_ts);
        found = Some((media_time as u64, u64::try_from(keep).ok()?));
    }
    found
}

// --------------------------------------------------------------- FLAC ----

/// What a FLAC file's metadata blocks say.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct FlacHeader {
    pub sample_rate_hz: u32,
    pub channels: u16,
    /// Frames the STREAMINFO block promises (0: not stated).
    pub total_frames: u64,
    /// Whether any byte follows the metadata blocks.
    pub has_audio_bytes: bool,
}

/// Walks the metadata blocks up to the first audio frame.
pub(crate) fn check_flac(bytes: &[u8]) -> Result<FlacHeader, Problem> {
    let start = id3v2_len(bytes).unwrap_or(0);
    let b = bytes.get(start..).unwrap_or(&[]);
    if !b.starts_with(b"fLaC") {
        return Err(Problem::Corrupt("it has no FLAC signature".into()));
    }
    let cut = || Problem::Cut("it ends inside its metadata blocks".into());
    let mut pos = 4usize;
    let mut streaminfo = None;
    loop {
        let header = be32(b, pos).ok_or_else(cut)?;
        let last = header >> 31 == 1;
        let kind = (header >> 24) & 0x7f;
        let len = (header & 0x00ff_ffff) as usize;
        let body = b.get(pos + 4..pos + 4 + len).ok_or_else(cut)?;
        if kind == 0 {
            if len < 34 {
                return Err(Problem::Corrupt("its STREAMINFO block is too short".into()));
            }
            let packed = be64(body, 10).unwrap_or(0);
            streaminfo = Some(FlacHeader {
                sample_rate_hz: (packed >> 44) as u32,
                channels: (((packed >> 41) & 7) + 1) as u16,
                total_frames: packed & 0x0f_ffff_ffff,
                has_audio_bytes: false,
            });
        }
        pos += 4 + len;
        if last {
            break;
        }
    }
    let mut info =
        streaminfo.ok_or_else(|| Problem::Corrupt("it has no STREAMINFO block".into()))?;
    info.has_audio_bytes = pos < b.len();
    Ok(info)
}

// ---------------------------------------------------------------- MP3 ----

/// A layer III frame header: (frame length in bytes, side-info length,
/// has CRC).
fn mp3_header(b: &[u8]) -> Option<(usize, usize, bool)> {
    let h = be32(b, 0)?;
    if h >> 21 != 0x7ff {
        return None;
    }
    let version = (h >> 19) & 3; // 0: 2.5, 2: 2, 3: 1
    let layer = (h >> 17) & 3; // 1: layer III
    if version == 1 || layer != 1 {
        return None;
    }
    let protected = (h >> 16) & 1 == 0;
    let bitrate_index = ((h >> 12) & 15) as usize;
    let rate_index = ((h >> 10) & 3) as usize;
    if bitrate_index == 0 || bitrate_index == 15 || rate_index == 3 {
        return None;
    }
    let padding = ((h >> 9) & 1) as usize;
    let mono = (h >> 6) & 3 == 3;
    const MPEG1_KBPS: [usize; 15] = [
        0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
    ];
    const MPEG2_KBPS: [usize; 15] = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
    let (kbps, rates, coeff, side) = match version {
        3 => (
            MPEG1_KBPS[bitrate_index],
            [44_100, 48_000, 32_000],
            144,
            if mono { 17 } else { 32 },
        ),
        2 => (
            MPEG2_KBPS[bitrate_index],
            [22_050, 24_000, 16_000],
            72,
            if mono { 9 } else { 17 },
        ),
        _ => (
            MPEG2_KBPS[bitrate_index],
            [11_025, 12_000, 8_000],
            72,
            if mono { 9 } else { 17 },
        ),
    };
    let len = coeff * kbps * 1000 / rates[rate_index] + padding;
    Some((len, side, protected))
}

/// What the MP3 check learnt.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Mp3Info {
    /// The Xing/Info frame states how many frames the file holds.
    pub counted_frames: bool,
    /// The Xing/Info frame states that the file holds no audio frame.
    pub empty: bool,
}

/// CRC-16/ARC (polynomial 0xa001 reflected, initial 0), as the LAME tag's
/// music CRC uses.
fn crc16_arc(data: &[u8]) -> u16 {
    static TABLE: std::sync::OnceLock<[u16; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u16; 256];
        for (i, e) in t.iter_mut().enumerate() {
            let mut r = i as u16;
            for _ in 0..8 {
                r = if r & 1 != 0 {
                    (r >> 1) ^ 0xa001
                } else {
                    r >> 1
                };
            }
            *e = r;
        }
        t
    });
    data.iter().fold(0u16, |crc, &b| {
        (crc >> 8) ^ table[usize::from((crc as u8) ^ b)]
    })
}

/// Reads the Xing/Info frame (if the first frame is one) and checks the
/// LAME extension's music length and CRC against the bytes present.
pub(crate) fn check_mp3(bytes: &[u8]) -> Result<Mp3Info, Problem> {
    let start = id3v2_len(bytes).unwrap_or(0);
    let Some(frame) = bytes.get(start..) else {
        return Err(Problem::Cut("it ends inside its ID3 tag".into()));
    };
    let Some((frame_len, side, protected)) = mp3_header(frame) else {
        return Ok(Mp3Info::default());
    };
    let candidates = [4 + side, 4 + side + 2];
    let Some(tag) = candidates
        .iter()
        .take(if protected { 2 } else { 1 })
        .copied()
        .find(|&at| {
            frame
                .get(at..at + 4)
                .is_some_and(|id| id == b"Xing" || id == b"Info")
        })
    else {
        return Ok(Mp3Info::default());
    };
    let Some(flags) = be32(frame, tag + 4) else {
        return Err(Problem::Cut("it ends inside its first frame".into()));
    };
    let mut at = tag + 8;
    let counted_frames = flags & 1 != 0;
    let info = Mp3Info {
        counted_frames,
        empty: counted_frames && be32(frame, at) == Some(0),
    };
    if info.empty {
        return Ok(info);
    }
    for (bit, len) in [(1, 4), (2, 4), (4, 100), (8, 4)] {
        if flags & bit != 0 {
            at += len;
        }
    }
    // The LAME extension: 36 bytes, inside the first frame.
    let lame = frame.get(at..at + 36).filter(|_| at + 36 <= frame_len);
    let Some(lame) = lame else {
        return Ok(info);
    };
    if !(lame.starts_with(b"LAME") || lame.starts_with(b"Lavf") || lame.starts_with(b"Lavc")) {
        return Ok(info);
    }
    let music_len = be32(lame, 28).unwrap_or(0) as usize;
    let music_crc = be16(lame, 32).unwrap_or(0);
    if music_len < frame_len {
        // Zero or nonsense: the encoder did not fill it in.
        return Ok(info);
    }
    let held = frame.len();
    if music_len > held {
        return Err(Problem::Cut(format!(
            "its LAME header says the audio is {music_len} bytes, the file holds {held}"
        )));
    }
    if crc16_arc(&frame[frame_len..music_len]) != music_crc {
        return Err(Problem::Corrupt(
            "its audio does not match the checksum its encoder stored (LAME music CRC)".into(),
        ));
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crcs_match_their_reference_values() {
        // CRC-16/ARC check value.
        assert_eq!(crc16_arc(b"123456789"), 0xbb3d);
        // Ogg's CRC-32 (CRC-32/MPEG-2 without the initial all-ones and
        // final inversion) of "123456789".
        assert_eq!(ogg_crc(0, b"123456789"), 0x89a1_897f);
    }

    #[test]
    fn sniffs_magic_not_names() {
        assert_eq!(sniff(b"fLaC\0\0\0\x22"), Sniffed::Flac);
        assert_eq!(sniff(b"OggS\0\x02"), Sniffed::Ogg);
        assert_eq!(sniff(b"\0\0\0\x1cftypM4A "), Sniffed::Mp4);
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVE"), Sniffed::Riff);
        assert_eq!(sniff(b"hello, this is text"), Sniffed::Unknown);
        assert_eq!(sniff(b""), Sniffed::Unknown);
        // MPEG-1 layer III, 128 kbit/s, 44.1 kHz.
        assert_eq!(sniff(&[0xff, 0xfb, 0x90, 0x00]), Sniffed::Mp3);
        assert_eq!(
            mp3_header(&[0xff, 0xfb, 0x90, 0x00]),
            Some((417, 32, false))
        );
    }

    #[test]
    fn box_walk_reports_a_box_running_past_the_end() {
        let mut b = Vec::new();
        b.extend_from_slice(&16u32.to_be_bytes());
        b.extend_from_slice(b"ftypM4A \0\0\0\0");
        b.extend_from_slice(&100u32.to_be_bytes());
        b.extend_from_slice(b"mdat");
        b.extend_from_slice(&[0; 20]);
        assert!(matches!(check_mp4(&b), Err(Problem::Cut(_))));
        b.truncate(16);
        assert_eq!(check_mp4(&b), Ok(None));
        b.extend_from_slice(&4u32.to_be_bytes());
        b.extend_from_slice(b"free");
        assert!(matches!(check_mp4(&b), Err(Problem::Corrupt(_))));
    }
}
