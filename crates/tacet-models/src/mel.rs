//! The mel filterbank whisper.cpp reads from the model file: librosa's
//! default `librosa.filters.mel(sr=16000, n_fft=400, n_mels=80)` (Slaney
//! scale and area normalisation), which is what OpenAI's `mel_filters.npz`
//! holds and what the reference converter copies into the ggml file.
//!
//! The arithmetic follows librosa step by step, including its precision:
//! frequencies and ramps are f64, each triangle is stored into an f32 array,
//! and the Slaney normalisation multiplies that f32 value (widened to f64) by
//! an f64 factor before it is rounded to f32 again. Reproducing the rounding
//! is what makes the converted file byte-identical to the reference one.

/// Slaney-scale Hz → mel, as librosa's `hz_to_mel(htk=False)`.
fn hz_to_mel(hz: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if hz >= min_log_hz {
        min_log_mel + (hz / min_log_hz).ln() / logstep
    } else {
        hz / f_sp
    }
}

/// Slaney-scale mel → Hz, as librosa's `mel_to_hz(htk=False)`.
fn mel_to_hz(mel: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if mel >= min_log_mel {
        min_log_hz * (logstep * (mel - min_log_mel)).exp()
    } else {
        f_sp * mel
    }
}

/// numpy's `linspace(start, stop, num)` (endpoint included).
fn linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    if num == 0 {
        return Vec::new();
    }
    if num == 1 {
        return vec![start];
    }
    let step = (stop - start) / (num - 1) as f64;
    let mut v: Vec<f64> = (0..num).map(|i| i as f64 * step + start).collect();
    if let Some(last) = v.last_mut() {
        *last = stop;
    }
    v
}

/// numpy's `minimum` on scalars: `a < b ? a : b` (NaN from `a` wins), which
/// keeps the sign of a zero the way librosa's output has it.
fn np_minimum(a: f64, b: f64) -> f64 {
    if a < b || a.is_nan() {
        a
    } else {
        b
    }
}

/// numpy's `maximum` on scalars: `a > b ? a : b`; `maximum(0, -0.0)` is
/// `-0.0`, which is why OpenAI's filterbank starts with a negative zero.
fn np_maximum(a: f64, b: f64) -> f64 {
    if a > b || a.is_nan() {
        a
    } else {
        b
    }
}

/// The filterbank, row-major `[n_mels][1 + n_fft / 2]`.
pub fn mel_filters(sample_rate_hz: u32, n_fft: usize, n_mels: usize) -> Vec<f32> {
    let n_bins = 1 + n_fft / 2;
    let fmax = f64::from(sample_rate_hz) / 2.0;
    let fft_freqs = linspace(0.0, fmax, n_bins);
    let mel_points = linspace(hz_to_mel(0.0), hz_to_mel(fmax), n_mels + 2);
    let mel_f: Vec<f64> = mel_points.iter().map(|&m| mel_to_hz(m)).collect();
    let fdiff: Vec<f64> = mel_f.windows(2).map(|w| w[1] - w[0]).collect();
    let mut weights = vec![0f32; n_mels * n_bins];
    for i in 0..n_mels {
        let enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
        for (j, &freq) in fft_freqs.iter().enumerate() {
            let lower = -(mel_f[i] - freq) / fdiff[i];
            let upper = (mel_f[i + 2] - freq) / fdiff[i + 1];
            let tri = np_maximum(0.0, np_minimum(lower, upper)) as f32;
            weights[i * n_bins + j] = (f64::from(tri) * enorm) as f32;
        }
    }
    weights
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_and_known_values() {
        let w = mel_filters(16_000, 400, 80);
        assert_eq!(w.len(), 80 * 201);
        // librosa (and so OpenAI's mel_filters.npz) starts with -0.0.
        assert_eq!(w[0].to_bits(), 0x8000_0000);
        // Each row is a triangle: non-negative with a positive peak.
        for row in w.chunks(201) {
            assert!(row.iter().all(|&x| x >= 0.0));
            assert!(row.iter().any(|&x| x > 0.0));
        }
    }
}
