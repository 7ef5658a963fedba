//! Live recording: audio goes into the vault as it arrives, the transcript
//! is built while the session runs, and a crash loses only what had not
//! reached the vault yet.
//!
//! Design decisions:
//! - **Seal first, transcribe second.** Every chunk is sealed into the vault
//!   (`append_audio(id, chunk, false)`, one transaction per chunk of at most
//!   one second) *before* the transcriber sees it, so the engine's speed
//!   never decides what survives a crash. Audio is never written anywhere
//!   else: no temp file, no plaintext buffer on disk.
//! - **The engine failing does not stop the recording.** If the live
//!   transcriber fails, the audio keeps being sealed until stop and the
//!   error is returned then; the session stays `recording` with its final
//!   chunk sealed and [`recover`] transcribes it in one pass.
//! - **Stop seals an empty final chunk.** The final flag is bound into the
//!   chunk's AAD, so "this recording ended here" is as tamper-evident as the
//!   audio itself; a session without it was cut short.
//! - **Front ends bring their own audio.** The layer takes plain 16 kHz mono
//!   `Vec<f32>` chunks from any iterator (a channel receiver from the
//!   capture thread, a test's vector), so it never names cpal.
//! - **Recovery is explicit.** [`interrupted_sessions`] lists what a crash
//!   left `recording`; [`recover`] reopens every sealed chunk through the
//!   store's [`RecoveryStore`] port (which audits the counts, never text),
//!   transcribes them in one pass and stores the transcript.
//! - **Pause is a gap in the timeline, said out loud.** A paused recorder
//!   seals nothing and transcribes nothing (audio pushed while paused is
//!   discarded and counted); `RecordingPaused` and `RecordingResumed` are
//!   audited with the position of the gap (milliseconds of audio recorded
//!   before it). The sealed audio and the transcript both skip the gap, so
//!   transcript times stay positions in the sealed audio (what review's
//!   evidence links and recovery rely on), and the audit log says where
//!   time was cut. Front ends send the pause in order with the audio
//!   ([`LiveInput::Pause`]) after every chunk captured before it.
//! - **Which input device** a recording uses is decided here
//!   ([`choose_input_device`]: asked for, else remembered and connected,
//!   else the default); the remembered device is a per-installation file
//!   that `tacet-runtime::input` reads and writes, so this layer does no
//!   file I/O of its own for it.

use crate::{AppError, TemplateLibrary};
use std::time::{Duration, Instant};
use tacet_core::audit::Detail;
use tacet_core::ports::{
    LiveTranscriber, RecoveryStore, SessionStore, SessionSummary, StoreError, Transcriber,
};
use tacet_core::{
    AuditAction, AuditEvent, LifecycleError, PatientRef, Segment, SessionId, SessionState,
    Transcript,
};

/// Samples per millisecond at 16 kHz.
const SAMPLES_PER_MS: u64 = 16;

/// One piece of live audio: 16 kHz mono samples, with the input level when
/// the capture measured one.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveChunk {
    pub samples_16k: Vec<f32>,
    /// RMS level of the latest input, 0..=1, for a meter.
    pub level_rms: Option<f32>,
}

impl From<Vec<f32>> for LiveChunk {
    fn from(samples_16k: Vec<f32>) -> Self {
        Self {
            samples_16k,
            level_rms: None,
        }
    }
}

/// What a front end feeds a recording, in order: audio, and the moments
/// the clinician paused and resumed.
#[derive(Clone, Debug, PartialEq)]
pub enum LiveInput {
    Audio(LiveChunk),
    /// Everything captured before the pause has been sent; seal nothing
    /// until [`LiveInput::Resume`].
    Pause,
    Resume,
}

impl From<LiveChunk> for LiveInput {
    fn from(chunk: LiveChunk) -> Self {
        LiveInput::Audio(chunk)
    }
}

impl From<Vec<f32>> for LiveInput {
    fn from(samples_16k: Vec<f32>) -> Self {
        LiveInput::Audio(samples_16k.into())
    }
}

/// What the front end shows after each chunk.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveProgress {
    /// Segments committed with this chunk (final; print them once).
    pub committed: Vec<Segment>,
    /// The current tentative segments (replace what was shown before).
    pub tentative: Vec<Segment>,
    /// Audio recorded so far, in milliseconds.
    pub recorded_ms: u64,
    /// Chunks sealed into the vault so far.
    pub chunks_sealed: u64,
    pub level_rms: Option<f32>,
    /// Set once the live transcriber has failed; the audio is still sealed
    /// and the session can be finished with [`recover`].
    pub transcription_failed: bool,
    /// Whether the recording is paused now.
    pub paused: bool,
    /// Audio that arrived while paused and was discarded, in milliseconds.
    pub discarded_while_paused_ms: u64,
}

/// What a stopped recording produced.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordingSummary {
    pub session: SessionId,
    pub transcript: Transcript,
    pub chunks_sealed: u64,
    pub recorded_ms: u64,
    /// How many times the recording was paused.
    pub pauses: u64,
    /// From stop to the stored transcript.
    pub stop_to_transcript: Duration,
}

/// A recording in progress. Feed it chunks with [`Recorder::push`], end it
/// with [`Recorder::stop`]. Dropping it without `stop` leaves the session
/// `recording` without its final chunk, exactly as a crash would: it is
/// then found by [`interrupted_sessions`].
pub struct Recorder<'a> {
    store: &'a mut dyn SessionStore,
    transcriber: &'a mut (dyn LiveTranscriber + Send),
    session: SessionId,
    chunks_sealed: u64,
    samples: u64,
    engine_error: Option<String>,
    paused: bool,
    pauses: u64,
    discarded_samples: u64,
}

/// Audits one end of a pause gap at `samples` into the recording.
fn audit_gap(
    store: &mut dyn SessionStore,
    session: SessionId,
    action: AuditAction,
    samples: u64,
) -> Result<(), AppError> {
    let actor = store.actor().clone();
    store.record(
        AuditEvent::new(action, actor)
            .session(session)
            .detail(Detail::Count(samples / SAMPLES_PER_MS)),
    )?;
    Ok(())
}

impl std::fmt::Debug for Recorder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("session", &self.session)
            .field("chunks_sealed", &self.chunks_sealed)
            .field("samples", &self.samples)
            .finish_non_exhaustive()
    }
}

impl<'a> Recorder<'a> {
    /// Creates a session for `template_id` and starts recording into it.
    pub fn new_session(
        store: &'a mut dyn SessionStore,
        transcriber: &'a mut (dyn LiveTranscriber + Send),
        templates: &TemplateLibrary,
        template_id: &str,
        patient: &PatientRef,
    ) -> Result<Self, AppError> {
        if templates.get(template_id).is_none() {
            return Err(AppError::UnknownTemplate(template_id.to_string()));
        }
        let session = store.create_session(template_id, patient)?;
        Self::start(store, session, transcriber)
    }

    /// Starts recording into an existing session that has no audio yet;
    /// audits `RecordingStarted`.
    pub fn start(
        store: &'a mut dyn SessionStore,
        session: SessionId,
        transcriber: &'a mut (dyn LiveTranscriber + Send),
    ) -> Result<Self, AppError> {
        let summary = store.session(session)?;
        if summary.state != SessionState::Created {
            return Err(StoreError::Lifecycle(LifecycleError {
                from: summary.state,
                action: "start recording (it already has audio)",
            })
            .into());
        }
        let actor = store.actor().clone();
        store.record(
            AuditEvent::new(AuditAction::RecordingStarted, actor)
                .session(session)
                .detail(Detail::TemplateId(summary.template_id)),
        )?;
        Ok(Self {
            store,
            transcriber,
            session,
            chunks_sealed: 0,
            samples: 0,
            engine_error: None,
            paused: false,
            pauses: 0,
            discarded_samples: 0,
        })
    }

    pub fn session(&self) -> SessionId {
        self.session
    }

    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Pauses: audits `RecordingPaused` at the current position; until
    /// [`Recorder::resume`] nothing is sealed or transcribed. Returns false
    /// (and audits nothing) when already paused.
    pub fn pause(&mut self) -> Result<bool, AppError> {
        if self.paused {
            return Ok(false);
        }
        audit_gap(
            self.store,
            self.session,
            AuditAction::RecordingPaused,
            self.samples,
        )?;
        self.paused = true;
        self.pauses += 1;
        Ok(true)
    }

    /// Resumes a paused recording (audits `RecordingResumed` at the same
    /// position as the pause). Returns false when it was not paused.
    pub fn resume(&mut self) -> Result<bool, AppError> {
        if !self.paused {
            return Ok(false);
        }
        audit_gap(
            self.store,
            self.session,
            AuditAction::RecordingResumed,
            self.samples,
        )?;
        self.paused = false;
        Ok(true)
    }

    /// Applies one input: audio is pushed, a pause or resume is applied.
    pub fn input(&mut self, input: &LiveInput) -> Result<LiveProgress, AppError> {
        match input {
            LiveInput::Audio(chunk) => self.push(chunk),
            LiveInput::Pause => {
                self.pause()?;
                self.push(&LiveChunk::default())
            }
            LiveInput::Resume => {
                self.resume()?;
                self.push(&LiveChunk::default())
            }
        }
    }

    /// Seals `chunk` into the vault, then feeds it to the transcriber.
    /// An error here is the store's: the chunk was not sealed. While paused
    /// the chunk is discarded (and counted), never sealed.
    pub fn push(&mut self, chunk: &LiveChunk) -> Result<LiveProgress, AppError> {
        let mut progress = LiveProgress {
            level_rms: chunk.level_rms,
            ..LiveProgress::default()
        };
        if self.paused {
            self.discarded_samples += chunk.samples_16k.len() as u64;
        } else if !chunk.samples_16k.is_empty() {
            self.chunks_sealed +=
                self.store
                    .append_audio(self.session, &chunk.samples_16k, false)?;
            self.samples += chunk.samples_16k.len() as u64;
            if self.engine_error.is_none() {
                match self.transcriber.push(&chunk.samples_16k) {
                    Ok(u) => {
                        progress.committed = u.committed;
                        progress.tentative = u.tentative;
                    }
                    Err(e) => self.engine_error = Some(e.0),
                }
            }
        }
        progress.recorded_ms = self.samples / SAMPLES_PER_MS;
        progress.chunks_sealed = self.chunks_sealed;
        progress.transcription_failed = self.engine_error.is_some();
        progress.paused = self.paused;
        progress.discarded_while_paused_ms = self.discarded_samples / SAMPLES_PER_MS;
        Ok(progress)
    }

    /// Seals the (empty) final chunk, audits `RecordingStopped`, finishes
    /// the transcript and stores it. If the transcriber failed during the
    /// recording, the audio is complete and sealed and the error is
    /// returned: finish the session with [`recover`].
    pub fn stop(mut self) -> Result<RecordingSummary, AppError> {
        let t0 = Instant::now();
        self.chunks_sealed += self.store.append_audio(self.session, &[], true)?;
        let actor = self.store.actor().clone();
        self.store.record(
            AuditEvent::new(AuditAction::RecordingStopped, actor)
                .session(self.session)
                .detail(Detail::Count(self.chunks_sealed))
                .detail(Detail::Count(self.samples / SAMPLES_PER_MS)),
        )?;
        if let Some(e) = self.engine_error {
            return Err(AppError::Transcription(format!(
                "{e}; the audio is sealed: finish the session with recovery"
            )));
        }
        let transcript = self
            .transcriber
            .finish()
            .map_err(|e| AppError::Transcription(e.0))?;
        self.store.put_transcript(self.session, &transcript)?;
        Ok(RecordingSummary {
            session: self.session,
            transcript,
            chunks_sealed: self.chunks_sealed,
            recorded_ms: self.samples / SAMPLES_PER_MS,
            pauses: self.pauses,
            stop_to_transcript: t0.elapsed(),
        })
    }
}

/// Chunks queued for the transcriber worker in [`record_live`] before the
/// sealing loop waits for it (ten minutes of half-second chunks).
const ASR_QUEUE_CHUNKS: usize = 1200;

/// Records from `chunks` until the iterator ends (the front end's stop),
/// reporting to `progress` after every chunk (and after every pause and
/// resume), then stops: see [`Recorder`]. Items are audio
/// (`Vec<f32>`, [`LiveChunk`]) or [`LiveInput`]s with pauses.
///
/// Sealing and transcription run on two threads: this one seals each chunk
/// the moment it arrives, a scoped worker transcribes behind it. A slow
/// transcription pass therefore never holds audio back from the vault, so
/// a crash loses at most the chunk in flight, whatever the engine's speed.
/// Progress reports what the worker has finished so far.
pub fn record_live<I>(
    recorder: Recorder<'_>,
    chunks: I,
    progress: &mut dyn FnMut(&LiveProgress),
) -> Result<RecordingSummary, AppError>
where
    I: IntoIterator,
    I::Item: Into<LiveInput>,
{
    let Recorder {
        store,
        transcriber,
        session,
        mut chunks_sealed,
        mut samples,
        mut engine_error,
        mut paused,
        mut pauses,
        mut discarded_samples,
    } = recorder;
    let (transcriber, sealing) = std::thread::scope(|scope| {
        let (to_asr, asr_rx) = std::sync::mpsc::sync_channel::<Vec<f32>>(ASR_QUEUE_CHUNKS);
        let (updates_tx, updates) =
            std::sync::mpsc::channel::<Result<tacet_core::ports::LiveUpdate, String>>();
        let worker = scope.spawn(move || {
            for chunk in asr_rx {
                let r = transcriber.push(&chunk).map_err(|e| e.0);
                let failed = r.is_err();
                if updates_tx.send(r).is_err() || failed {
                    break;
                }
            }
            transcriber
        });
        let mut tentative = Vec::new();
        let mut drain = |engine_error: &mut Option<String>, p: &mut LiveProgress| {
            for u in updates.try_iter() {
                match u {
                    Ok(u) => {
                        p.committed.extend(u.committed);
                        tentative = u.tentative;
                    }
                    Err(e) => {
                        engine_error.get_or_insert(e);
                    }
                }
            }
            p.tentative = tentative.clone();
        };
        let mut sealing = Ok(());
        for input in chunks {
            let chunk = match input.into() {
                LiveInput::Audio(chunk) => chunk,
                gap @ (LiveInput::Pause | LiveInput::Resume) => {
                    let pause = gap == LiveInput::Pause;
                    if pause != paused {
                        let action = if pause {
                            AuditAction::RecordingPaused
                        } else {
                            AuditAction::RecordingResumed
                        };
                        if let Err(e) = audit_gap(store, session, action, samples) {
                            sealing = Err(e);
                            break;
                        }
                        paused = pause;
                        pauses += u64::from(pause);
                    }
                    LiveChunk::default()
                }
            };
            let mut p = LiveProgress {
                level_rms: chunk.level_rms,
                ..LiveProgress::default()
            };
            if paused {
                discarded_samples += chunk.samples_16k.len() as u64;
            } else if !chunk.samples_16k.is_empty() {
                match store.append_audio(session, &chunk.samples_16k, false) {
                    Ok(n) => chunks_sealed += n,
                    Err(e) => {
                        sealing = Err(AppError::from(e));
                        break;
                    }
                }
                samples += chunk.samples_16k.len() as u64;
                if engine_error.is_none() {
                    // A closed queue means the worker stopped on an error,
                    // which the drain below reports.
                    let _ = to_asr.send(chunk.samples_16k);
                }
            }
            drain(&mut engine_error, &mut p);
            p.recorded_ms = samples / SAMPLES_PER_MS;
            p.chunks_sealed = chunks_sealed;
            p.transcription_failed = engine_error.is_some();
            p.paused = paused;
            p.discarded_while_paused_ms = discarded_samples / SAMPLES_PER_MS;
            progress(&p);
        }
        drop(to_asr);
        let transcriber = worker.join();
        // What the worker finished after the last chunk arrived.
        let mut p = LiveProgress::default();
        drain(&mut engine_error, &mut p);
        if !p.committed.is_empty() {
            p.recorded_ms = samples / SAMPLES_PER_MS;
            p.chunks_sealed = chunks_sealed;
            p.paused = paused;
            p.discarded_while_paused_ms = discarded_samples / SAMPLES_PER_MS;
            progress(&p);
        }
        (transcriber, sealing)
    });
    sealing?;
    let transcriber = transcriber.map_err(|_| {
        AppError::Transcription("the transcription worker stopped unexpectedly".into())
    })?;
    Recorder {
        store,
        transcriber,
        session,
        chunks_sealed,
        samples,
        engine_error,
        paused,
        pauses,
        discarded_samples,
    }
    .stop()
}

/// How a stopped live recording was finished (see [`finish_live`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Finished {
    /// The live transcriber's transcript, stored.
    Live(RecordingSummary),
    /// The live transcriber failed during the recording; the sealed audio
    /// was transcribed in one pass at stop and that transcript stored.
    Recovered {
        recovered: Recovered,
        /// Why the live transcript could not be used.
        live_error: String,
        /// From stop to the stored transcript (the batch pass).
        stop_to_transcript: Duration,
    },
}

impl Finished {
    pub fn session(&self) -> SessionId {
        match self {
            Self::Live(s) => s.session,
            Self::Recovered { recovered, .. } => recovered.session,
        }
    }

    pub fn transcript(&self) -> &Transcript {
        match self {
            Self::Live(s) => &s.transcript,
            Self::Recovered { recovered, .. } => &recovered.transcript,
        }
    }

    /// The stored transcript, taken.
    pub fn into_transcript(self) -> Transcript {
        match self {
            Self::Live(s) => s.transcript,
            Self::Recovered { recovered, .. } => recovered.transcript,
        }
    }

    /// How many times the recording was paused (0 after a recovery, which
    /// reads the sealed audio only; the audit log has the pauses).
    pub fn pauses(&self) -> u64 {
        match self {
            Self::Live(s) => s.pauses,
            Self::Recovered { .. } => 0,
        }
    }

    /// Audio in the stored transcript's recording, in milliseconds.
    pub fn recorded_ms(&self) -> u64 {
        match self {
            Self::Live(s) => s.recorded_ms,
            Self::Recovered { recovered, .. } => recovered.recovered_ms,
        }
    }

    /// From stop to the stored transcript.
    pub fn stop_to_transcript(&self) -> Duration {
        match self {
            Self::Live(s) => s.stop_to_transcript,
            Self::Recovered {
                stop_to_transcript, ..
            } => *stop_to_transcript,
        }
    }
}

/// Finishes a live recording of `session` once [`record_live`] has
/// returned: its transcript as recorded, or — when the live transcriber
/// failed (its audio is sealed all the same) — one batch pass of `batch`
/// over the sealed audio, at once, so the clinician has a transcript
/// without a separate recovery step. Both front ends end a recording
/// through here. Any other error (the vault could not seal) is returned
/// as it was: what was sealed stays recoverable with [`recover`].
pub fn finish_live(
    store: &mut dyn RecoveryStore,
    session: SessionId,
    stopped: Result<RecordingSummary, AppError>,
    batch: &mut dyn Transcriber,
) -> Result<Finished, AppError> {
    match stopped {
        Ok(summary) => Ok(Finished::Live(summary)),
        Err(AppError::Transcription(live_error)) => {
            let t0 = Instant::now();
            let recovered = recover(store, session, batch)?;
            Ok(Finished::Recovered {
                recovered,
                live_error,
                stop_to_transcript: t0.elapsed(),
            })
        }
        Err(e) => Err(e),
    }
}

/// Which input device a recording uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceChoice {
    /// The one the user asked for now (remember it).
    Requested(String),
    /// The remembered one, connected.
    Remembered(String),
    /// The remembered one is not connected: the default input is used.
    RememberedGone { remembered: String },
    /// Nothing asked for or remembered: the default input.
    Default,
}

impl DeviceChoice {
    /// The device id to open; `None` for the default input.
    pub fn device(&self) -> Option<&str> {
        match self {
            DeviceChoice::Requested(id) | DeviceChoice::Remembered(id) => Some(id),
            DeviceChoice::RememberedGone { .. } | DeviceChoice::Default => None,
        }
    }

    /// What to tell the user, when there is something to tell.
    pub fn notice(&self) -> Option<String> {
        match self {
            DeviceChoice::RememberedGone { remembered } => Some(format!(
                "The remembered input device {remembered:?} is not connected; recording from the default input instead."
            )),
            _ => None,
        }
    }
}

/// Picks the device: the one `requested` now, else the `remembered` one if
/// it is among the `available` ids, else the default input.
pub fn choose_input_device(
    requested: Option<&str>,
    remembered: Option<&str>,
    available: &[&str],
) -> DeviceChoice {
    match (requested, remembered) {
        (Some(id), _) => DeviceChoice::Requested(id.to_string()),
        (None, Some(id)) if available.contains(&id) => DeviceChoice::Remembered(id.to_string()),
        (None, Some(id)) => DeviceChoice::RememberedGone {
            remembered: id.to_string(),
        },
        (None, None) => DeviceChoice::Default,
    }
}

/// Sessions a crash (or a failed engine) left `recording`: call at unlock,
/// before starting a new recording.
pub fn interrupted_sessions(store: &dyn RecoveryStore) -> Result<Vec<SessionSummary>, AppError> {
    Ok(store.interrupted_sessions()?)
}

/// What recovery found and produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Recovered {
    pub session: SessionId,
    pub transcript: Transcript,
    pub chunks_recovered: u64,
    /// Chunk indexes missing inside the recording (zero after a crash,
    /// which loses only the unsealed tail).
    pub chunks_missing: u64,
    pub had_final_chunk: bool,
    pub recovered_ms: u64,
}

/// Finishes an interrupted recording: every sealed chunk is reopened (the
/// store audits `RecordingRecovered` with the counts), transcribed in one
/// pass, and the transcript stored (`recording → transcribed`).
pub fn recover(
    store: &mut dyn RecoveryStore,
    session: SessionId,
    transcriber: &mut dyn Transcriber,
) -> Result<Recovered, AppError> {
    let audio = store.recover_audio(session)?;
    let transcript = if audio.samples_16k.is_empty() {
        // Nothing was sealed but the final flag: an empty transcript.
        Transcript {
            language: "en".into(),
            ..Transcript::default()
        }
    } else {
        transcriber
            .transcribe(&audio.samples_16k)
            .map_err(|e| AppError::Transcription(e.0))?
    };
    store.put_transcript(session, &transcript)?;
    Ok(Recovered {
        session,
        transcript,
        chunks_recovered: audio.chunks_recovered,
        chunks_missing: audio.chunks_missing,
        had_final_chunk: audio.had_final_chunk,
        recovered_ms: audio.samples_16k.len() as u64 / SAMPLES_PER_MS,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tacet_core::lifecycle::Transition;
    use tacet_core::ports::{
        AuditVerification, DeletionEntry, DeletionReceipt, EngineError, LiveUpdate, RecoveredAudio,
    };
    use tacet_core::{Actor, AttestedNote, Draft, Role};

    /// An in-memory store that keeps sealed chunks as (index, final, samples).
    struct FakeStore {
        actor: Actor,
        state: SessionState,
        chunks: Vec<(u64, bool, Vec<f32>)>,
        transcript: Option<Transcript>,
        events: Vec<AuditEvent>,
        fail_appends_after: Option<usize>,
    }

    impl FakeStore {
        fn new() -> Self {
            Self {
                actor: Actor::new("drlee", Role::Clinician),
                state: SessionState::Created,
                chunks: Vec::new(),
                transcript: None,
                events: Vec::new(),
                fail_appends_after: None,
            }
        }
        fn actions(&self) -> Vec<AuditAction> {
            self.events.iter().map(|e| e.action).collect()
        }
    }

    const ID: SessionId = SessionId([7; 16]);

    impl SessionStore for FakeStore {
        fn actor(&self) -> &Actor {
            &self.actor
        }
        fn create_session(&mut self, _t: &str, _p: &PatientRef) -> Result<SessionId, StoreError> {
            Ok(ID)
        }
        fn session(&self, id: SessionId) -> Result<SessionSummary, StoreError> {
            Ok(SessionSummary {
                id,
                owner: self.actor.user.clone(),
                state: self.state,
                template_id: "soap".into(),
                created_at_unix_ms: 0,
                receipt_id: None,
            })
        }
        fn list_sessions(&self) -> Result<Vec<SessionSummary>, StoreError> {
            Ok(vec![self.session(ID)?])
        }
        fn patient_ref(&mut self, _id: SessionId) -> Result<PatientRef, StoreError> {
            Ok(PatientRef::new("p"))
        }
        fn append_audio(
            &mut self,
            _id: SessionId,
            samples: &[f32],
            last: bool,
        ) -> Result<u64, StoreError> {
            if self.fail_appends_after == Some(self.chunks.len()) {
                return Err(StoreError::Io("disk full".into()));
            }
            if self.state == SessionState::Created {
                self.state = self.state.apply(Transition::StartRecording)?;
            } else if self.state != SessionState::Recording {
                return Err(StoreError::Denied("not recording".into()));
            }
            let idx = self.chunks.len() as u64;
            self.chunks.push((idx, last, samples.to_vec()));
            Ok(1)
        }
        fn audio(&mut self, _id: SessionId) -> Result<Vec<f32>, StoreError> {
            Ok(self.chunks.iter().flat_map(|c| c.2.clone()).collect())
        }
        fn put_transcript(&mut self, _id: SessionId, t: &Transcript) -> Result<(), StoreError> {
            self.state = self.state.apply(Transition::FinishTranscript)?;
            self.transcript = Some(t.clone());
            Ok(())
        }
        fn transcript(&mut self, _id: SessionId) -> Result<Transcript, StoreError> {
            self.transcript
                .clone()
                .ok_or(StoreError::Denied("none".into()))
        }
        fn put_draft(&mut self, _id: SessionId, _d: &Draft) -> Result<(), StoreError> {
            unimplemented!()
        }
        fn draft(&mut self, _id: SessionId) -> Result<Draft, StoreError> {
            unimplemented!()
        }
        fn put_attested(&mut self, _n: &AttestedNote) -> Result<(), StoreError> {
            unimplemented!()
        }
        fn attested(&mut self, _id: SessionId) -> Result<AttestedNote, StoreError> {
            unimplemented!()
        }
        fn mark_exported(
            &mut self,
            _n: &AttestedNote,
            _f: &'static str,
        ) -> Result<String, StoreError> {
            unimplemented!()
        }
        fn destroy(
            &mut self,
            _id: SessionId,
            _t: &'static str,
        ) -> Result<DeletionReceipt, StoreError> {
            unimplemented!()
        }
        fn record(&mut self, ev: AuditEvent) -> Result<u64, StoreError> {
            self.events.push(ev);
            Ok(self.events.len() as u64)
        }
        fn verify_audit(&mut self, _e: &[String]) -> Result<AuditVerification, StoreError> {
            unimplemented!()
        }
        fn deletions(&mut self) -> Result<Vec<DeletionEntry>, StoreError> {
            Ok(vec![])
        }
        fn checkpoint(&mut self) -> Result<String, StoreError> {
            Ok(String::new())
        }

        fn set_model_approval(
            &mut self,
            _ev: tacet_core::AuditEvent,
            _sha256: [u8; 32],
            _approved: bool,
        ) -> Result<u64, StoreError> {
            Err(StoreError::Denied("no models in this test store".into()))
        }

        fn model_approved(&self, _sha256: &[u8; 32]) -> Result<bool, StoreError> {
            Ok(false)
        }
    }

    impl RecoveryStore for FakeStore {
        fn interrupted_sessions(&self) -> Result<Vec<SessionSummary>, StoreError> {
            Ok(self
                .list_sessions()?
                .into_iter()
                .filter(|s| s.state == SessionState::Recording)
                .collect())
        }
        fn recover_audio(&mut self, id: SessionId) -> Result<RecoveredAudio, StoreError> {
            self.state = self
                .state
                .apply(Transition::Interrupt)?
                .apply(Transition::Recover)?;
            let mut out = RecoveredAudio::default();
            let mut expected = 0;
            for (idx, last, s) in &self.chunks {
                out.chunks_missing += idx - expected;
                expected = idx + 1;
                out.chunks_recovered += 1;
                out.had_final_chunk |= *last;
                out.samples_16k.extend_from_slice(s);
            }
            self.events.push(
                AuditEvent::new(AuditAction::RecordingRecovered, self.actor.clone())
                    .session(id)
                    .detail(Detail::Count(out.chunks_recovered))
                    .detail(Detail::Count(out.chunks_missing)),
            );
            Ok(out)
        }
    }

    fn seg(id: u32, text: &str) -> Segment {
        Segment {
            id,
            start_ms: u64::from(id) * 1000,
            end_ms: u64::from(id) * 1000 + 900,
            speaker: None,
            text: text.into(),
            confidence: 1.0,
            unsure: Vec::new(),
        }
    }

    /// Commits one word per chunk after the first; the newest is tentative.
    #[derive(Default)]
    struct FakeLive {
        pushed: usize,
        committed: Vec<Segment>,
        fail_at: Option<usize>,
    }

    impl LiveTranscriber for FakeLive {
        fn push(&mut self, samples: &[f32]) -> Result<LiveUpdate, EngineError> {
            if self.fail_at == Some(self.pushed) {
                return Err(EngineError("the engine crashed".into()));
            }
            assert!(!samples.is_empty());
            self.pushed += 1;
            let committed = if self.pushed > 1 {
                let s = seg(
                    self.committed.len() as u32,
                    &format!("w{}", self.pushed - 1),
                );
                self.committed.push(s.clone());
                vec![s]
            } else {
                vec![]
            };
            Ok(LiveUpdate {
                committed,
                tentative: vec![seg(99, &format!("w{}", self.pushed))],
            })
        }
        fn finish(&mut self) -> Result<Transcript, EngineError> {
            let mut segments = self.committed.clone();
            segments.push(seg(segments.len() as u32, &format!("w{}", self.pushed)));
            Ok(Transcript {
                language: "en".into(),
                segments,
                model_sha256: String::new(),
            })
        }
    }

    struct FakeBatch;
    impl Transcriber for FakeBatch {
        fn transcribe(&mut self, s: &[f32]) -> Result<Transcript, EngineError> {
            Ok(Transcript {
                language: "en".into(),
                segments: vec![seg(0, &format!("{} samples", s.len()))],
                model_sha256: String::new(),
            })
        }
    }

    fn chunks(n: usize) -> Vec<Vec<f32>> {
        (0..n).map(|i| vec![i as f32 / 100.0; 16_000]).collect()
    }

    #[test]
    fn chunks_are_sealed_as_they_arrive_and_the_transcript_is_stored() {
        let mut store = FakeStore::new();
        let mut live = FakeLive::default();
        let lib = TemplateLibrary::built_in().unwrap();
        let rec = Recorder::new_session(&mut store, &mut live, &lib, "soap", &PatientRef::new("p"))
            .unwrap();
        let mut seen = Vec::new();
        let summary =
            record_live(rec, chunks(4), &mut |p: &LiveProgress| seen.push(p.clone())).unwrap();
        // One progress per chunk, each after its chunk was sealed (and one
        // more when the worker committed text after the last chunk).
        assert!(seen.len() == 4 || seen.len() == 5, "{}", seen.len());
        assert_eq!(
            seen[..4]
                .iter()
                .map(|p| p.chunks_sealed)
                .collect::<Vec<_>>(),
            [1, 2, 3, 4]
        );
        assert_eq!(seen[3].recorded_ms, 4_000);
        let committed: Vec<String> = seen
            .iter()
            .flat_map(|p| p.committed.iter().map(|s| s.text.clone()))
            .collect();
        assert_eq!(committed, ["w1", "w2", "w3"]);
        // Four audio chunks plus the empty final one.
        assert_eq!(summary.chunks_sealed, 5);
        assert_eq!(store.chunks.len(), 5);
        assert!(store.chunks[..4]
            .iter()
            .all(|c| !c.1 && c.2.len() == 16_000));
        assert!(store.chunks[4].1 && store.chunks[4].2.is_empty());
        assert_eq!(store.state, SessionState::Transcribed);
        assert_eq!(
            store.transcript.as_ref().unwrap().plain_text(),
            "w1 w2 w3 w4"
        );
        assert_eq!(
            store.actions(),
            [AuditAction::RecordingStarted, AuditAction::RecordingStopped]
        );
        assert_eq!(
            store.events[1].details,
            [Detail::Count(5), Detail::Count(4_000)]
        );
    }

    #[test]
    fn fail_unknown_template_records_nothing() {
        let mut store = FakeStore::new();
        let mut live = FakeLive::default();
        let lib = TemplateLibrary::built_in().unwrap();
        let err = Recorder::new_session(&mut store, &mut live, &lib, "nope", &PatientRef::new("p"))
            .unwrap_err();
        assert!(matches!(err, AppError::UnknownTemplate(_)));
        assert!(store.events.is_empty());
    }

    #[test]
    fn fail_engine_error_keeps_sealing_and_leaves_the_session_recoverable() {
        let mut store = FakeStore::new();
        let mut live = FakeLive {
            fail_at: Some(1),
            ..FakeLive::default()
        };
        let rec = Recorder::start(&mut store, ID, &mut live).unwrap();
        let err = record_live(rec, chunks(3), &mut |_| {}).unwrap_err();
        assert!(matches!(err, AppError::Transcription(_)));
        // All audio and the final flag are sealed; no transcript.
        assert_eq!(store.chunks.len(), 4);
        assert_eq!(store.state, SessionState::Recording);
        let r = recover(&mut store, ID, &mut FakeBatch).unwrap();
        assert!(r.had_final_chunk);
        assert_eq!(r.transcript.plain_text(), "48000 samples");
        assert_eq!(store.state, SessionState::Transcribed);
    }

    #[test]
    fn a_failed_live_transcriber_is_finished_at_once_from_the_sealed_audio() {
        let mut store = FakeStore::new();
        let mut live = FakeLive {
            fail_at: Some(1),
            ..FakeLive::default()
        };
        let rec = Recorder::start(&mut store, ID, &mut live).unwrap();
        let stopped = record_live(rec, chunks(3), &mut |_| {});
        let finished = finish_live(&mut store, ID, stopped, &mut FakeBatch).unwrap();
        let Finished::Recovered {
            recovered,
            live_error,
            ..
        } = &finished
        else {
            panic!("not recovered: {finished:?}")
        };
        assert!(live_error.contains("the engine crashed"), "{live_error}");
        assert!(recovered.had_final_chunk);
        assert_eq!(recovered.chunks_missing, 0);
        // What the clinician reads: the whole sealed recording, transcribed.
        assert_eq!(finished.transcript().plain_text(), "48000 samples");
        assert_eq!(finished.recorded_ms(), 3_000);
        assert_eq!(store.state, SessionState::Transcribed);
        assert_eq!(
            store.actions(),
            [
                AuditAction::RecordingStarted,
                AuditAction::RecordingStopped,
                AuditAction::RecordingRecovered
            ]
        );
        assert!(interrupted_sessions(&store).unwrap().is_empty());
    }

    #[test]
    fn a_live_transcript_is_finished_as_recorded_and_a_store_error_is_not_hidden() {
        let mut store = FakeStore::new();
        let mut live = FakeLive::default();
        let rec = Recorder::start(&mut store, ID, &mut live).unwrap();
        let stopped = record_live(rec, chunks(2), &mut |_| {});
        let finished = finish_live(&mut store, ID, stopped, &mut FakeBatch).unwrap();
        assert!(matches!(finished, Finished::Live(_)));
        assert_eq!(finished.transcript().plain_text(), "w1 w2");
        assert_eq!(finished.session(), ID);

        let mut store = FakeStore::new();
        store.fail_appends_after = Some(1);
        let mut live = FakeLive::default();
        let rec = Recorder::start(&mut store, ID, &mut live).unwrap();
        let stopped = record_live(rec, chunks(3), &mut |_| {});
        let err = finish_live(&mut store, ID, stopped, &mut FakeBatch).unwrap_err();
        assert!(matches!(err, AppError::Store(StoreError::Io(_))));
        // Nothing was recovered behind the error's back.
        assert_eq!(store.state, SessionState::Recording);
        assert!(store.transcript.is_none());
    }

    #[test]
    fn fail_engine_error_is_flagged_while_push_keeps_sealing() {
        let mut store = FakeStore::new();
        let mut live = FakeLive {
            fail_at: Some(1),
            ..FakeLive::default()
        };
        let mut rec = Recorder::start(&mut store, ID, &mut live).unwrap();
        let flags: Vec<bool> = chunks(3)
            .into_iter()
            .map(|c| rec.push(&c.into()).unwrap().transcription_failed)
            .collect();
        assert_eq!(flags, [false, true, true]);
        assert!(rec.stop().is_err());
        assert_eq!(store.chunks.len(), 4);
    }

    #[test]
    fn a_crashed_recording_is_found_and_recovered() {
        let mut store = FakeStore::new();
        let mut live = FakeLive::default();
        {
            let mut rec = Recorder::start(&mut store, ID, &mut live).unwrap();
            for c in chunks(3) {
                rec.push(&c.into()).unwrap();
            }
            // Dropped without stop: the process died.
        }
        assert_eq!(store.chunks.len(), 3);
        assert!(store.chunks.iter().all(|c| !c.1), "no final chunk");
        let found = interrupted_sessions(&store).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].id, ID);
        let r = recover(&mut store, ID, &mut FakeBatch).unwrap();
        assert_eq!(r.chunks_recovered, 3);
        assert_eq!(r.chunks_missing, 0);
        assert!(!r.had_final_chunk);
        assert_eq!(r.recovered_ms, 3_000);
        assert_eq!(store.state, SessionState::Transcribed);
        assert_eq!(
            store.transcript.as_ref().unwrap().plain_text(),
            "48000 samples"
        );
        assert_eq!(
            store.events.last().unwrap().details,
            [Detail::Count(3), Detail::Count(0)]
        );
        assert!(interrupted_sessions(&store).unwrap().is_empty());
    }

    #[test]
    fn fail_a_store_error_stops_the_recording_without_a_transcript() {
        let mut store = FakeStore::new();
        store.fail_appends_after = Some(2);
        let mut live = FakeLive::default();
        let rec = Recorder::start(&mut store, ID, &mut live).unwrap();
        let err = record_live(rec, chunks(4), &mut |_| {}).unwrap_err();
        assert!(matches!(err, AppError::Store(StoreError::Io(_))));
        assert_eq!(store.chunks.len(), 2);
        assert_eq!(store.state, SessionState::Recording);
    }

    #[test]
    fn a_pause_seals_nothing_and_the_gap_is_audited_at_its_position() {
        let mut store = FakeStore::new();
        let mut live = FakeLive::default();
        let rec = Recorder::start(&mut store, ID, &mut live).unwrap();
        let c = chunks(4);
        let inputs: Vec<LiveInput> = vec![
            c[0].clone().into(),
            c[1].clone().into(),
            LiveInput::Pause,
            // Arrives while paused: discarded, never sealed.
            vec![0.5; 8_000].into(),
            LiveInput::Pause,
            LiveInput::Resume,
            c[2].clone().into(),
            LiveInput::Resume,
            c[3].clone().into(),
        ];
        let mut seen = Vec::new();
        let summary =
            record_live(rec, inputs, &mut |p: &LiveProgress| seen.push(p.clone())).unwrap();
        // Only the four chunks and the final flag were sealed, in order.
        assert_eq!(store.chunks.len(), 5);
        assert!(store.chunks[..4].iter().all(|ch| ch.2.len() == 16_000));
        assert_eq!(store.chunks[2].2, c[2], "the chunk after the gap");
        assert_eq!(summary.recorded_ms, 4_000);
        assert_eq!(summary.pauses, 1);
        // The gap is explicit: one pause and one resume, both at 2 s, in
        // order between start and stop (repeats change nothing).
        assert_eq!(
            store.actions(),
            [
                AuditAction::RecordingStarted,
                AuditAction::RecordingPaused,
                AuditAction::RecordingResumed,
                AuditAction::RecordingStopped
            ]
        );
        assert_eq!(store.events[1].details, [Detail::Count(2_000)]);
        assert_eq!(store.events[2].details, [Detail::Count(2_000)]);
        // Progress says paused while it was, and counts what was dropped.
        let paused: Vec<bool> = seen.iter().take(9).map(|p| p.paused).collect();
        assert_eq!(
            paused,
            [false, false, true, true, true, false, false, false, false]
        );
        assert_eq!(seen[3].discarded_while_paused_ms, 500);
        assert_eq!(seen[3].recorded_ms, 2_000, "the clock stops while paused");
        // The transcriber saw only the recorded audio: transcript times are
        // positions in the sealed audio.
        assert_eq!(live.pushed, 4);
        let t = store.transcript.as_ref().unwrap();
        assert_eq!(t.duration_ms(), 3_900);
    }

    #[test]
    fn pause_and_resume_through_push_are_idempotent() {
        let mut store = FakeStore::new();
        let mut live = FakeLive::default();
        let mut rec = Recorder::start(&mut store, ID, &mut live).unwrap();
        rec.push(&chunks(1)[0].clone().into()).unwrap();
        assert!(rec.pause().unwrap());
        assert!(!rec.pause().unwrap(), "already paused");
        let p = rec.push(&vec![0.1; 1_600].into()).unwrap();
        assert!(p.paused);
        assert_eq!((p.chunks_sealed, p.recorded_ms), (1, 1_000));
        assert_eq!(p.discarded_while_paused_ms, 100);
        assert!(rec.resume().unwrap());
        assert!(!rec.resume().unwrap(), "not paused");
        let p = rec.input(&chunks(2)[1].clone().into()).unwrap();
        assert_eq!(
            (p.chunks_sealed, p.recorded_ms, p.paused),
            (2, 2_000, false)
        );
        let summary = rec.stop().unwrap();
        assert_eq!(summary.pauses, 1);
        assert_eq!(store.chunks.len(), 3);
    }

    #[test]
    fn a_recording_stopped_while_paused_is_complete() {
        let mut store = FakeStore::new();
        let mut live = FakeLive::default();
        let rec = Recorder::start(&mut store, ID, &mut live).unwrap();
        let inputs: Vec<LiveInput> = vec![chunks(1)[0].clone().into(), LiveInput::Pause];
        let summary = record_live(rec, inputs, &mut |_| {}).unwrap();
        assert_eq!(summary.recorded_ms, 1_000);
        assert_eq!(store.state, SessionState::Transcribed);
        assert!(store.chunks.last().unwrap().1, "the final flag is sealed");
    }

    #[test]
    fn the_remembered_device_is_used_while_connected_else_the_default() {
        let available = ["alsa:default", "alsa:pulse"];
        let c = choose_input_device(None, Some("alsa:default"), &available);
        assert_eq!(c, DeviceChoice::Remembered("alsa:default".into()));
        assert_eq!(c.device(), Some("alsa:default"));
        assert_eq!(c.notice(), None);
        let c = choose_input_device(Some("alsa:pulse"), Some("alsa:default"), &available);
        assert_eq!(c.device(), Some("alsa:pulse"));
        let gone = choose_input_device(None, Some("alsa:usb-mic"), &available);
        assert_eq!(gone.device(), None, "falls back to the default input");
        assert!(gone.notice().unwrap().contains("alsa:usb-mic"));
        assert_eq!(
            choose_input_device(None, None, &available),
            DeviceChoice::Default
        );
    }

    #[test]
    fn fail_starting_twice() {
        let mut store = FakeStore::new();
        store.state = SessionState::Recording;
        let mut live = FakeLive::default();
        assert!(Recorder::start(&mut store, ID, &mut live).is_err());
    }
}
