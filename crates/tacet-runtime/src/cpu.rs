//! The CPU floor of one build for every practice PC.
//!
//! whisper.cpp's ggml is compiled for x86-64-v3 — AVX2, FMA, F16C and BMI2
//! (`.cargo/config.toml`: never `GGML_NATIVE`, whose `-march=native` on an
//! AVX-512 build machine killed transcription with an illegal instruction
//! on an AVX2 laptop). Faster paths are chosen at run time on the CPU that
//! runs the program: Tacet's AVX-512 VNNI encoder product and encoder
//! attention in whisper.cpp, the drafting kernels in tacet-llm.
//!
//! A CPU below the floor would die with SIGILL the moment transcription
//! starts, after a session had been created. [`check_floor`] is the first
//! thing both programs do, so such a machine gets a sentence naming what
//! its CPU lacks instead, before any patient data is read.

use crate::RuntimeError;

/// What the build needs, in words for the error and the report.
pub const FLOOR: &str = "x86-64-v3 (AVX2, FMA, F16C, BMI2)";

/// The floor's features this CPU lacks (empty when it can run Tacet).
#[must_use]
pub fn missing_features() -> Vec<&'static str> {
    let mut missing = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        if !std::arch::is_x86_feature_detected!("avx2") {
            missing.push("AVX2");
        }
        if !std::arch::is_x86_feature_detected!("fma") {
            missing.push("FMA");
        }
        if !std::arch::is_x86_feature_detected!("f16c") {
            missing.push("F16C");
        }
        if !std::arch::is_x86_feature_detected!("bmi2") {
            missing.push("BMI2");
        }
    }
    missing
}

/// `Ok` on a CPU that has every feature of [`FLOOR`]; otherwise an error
/// naming the missing ones.
pub fn check_floor() -> Result<(), RuntimeError> {
    let missing = missing_features();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(RuntimeError::CpuBelowFloor {
            missing: missing.join(", "),
        })
    }
}

/// The SIMD extensions the transcription and drafting kernels may choose
/// from at run time on this CPU, for the installation report and the
/// support log (e.g. "AVX2 FMA F16C AVX-512F AVX-512BW AVX-512VNNI").
#[must_use]
pub fn features() -> String {
    let mut have: Vec<&str> = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        for (present, name) in [
            (has!("avx2"), "AVX2"),
            (has!("fma"), "FMA"),
            (has!("f16c"), "F16C"),
            (has!("bmi2"), "BMI2"),
            (has!("avxvnni"), "AVX-VNNI"),
            (has!("avx512f"), "AVX-512F"),
            (has!("avx512bw"), "AVX-512BW"),
            (has!("avx512vnni"), "AVX-512VNNI"),
        ] {
            if present {
                have.push(name);
            }
        }
    }
    if have.is_empty() {
        "none of the x86-64 SIMD extensions".to_owned()
    } else {
        have.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_machine_meets_the_floor_and_names_its_features() {
        // The build and test machines are x86-64-v3 or better; a CPU below
        // it is tested by running the binary under qemu (tacet-cli's
        // tests/portable_cpu.rs).
        assert_eq!(missing_features(), Vec::<&str>::new());
        check_floor().unwrap();
        assert!(features().contains("AVX2"), "{}", features());
    }

    #[test]
    fn the_refusal_names_what_is_missing_and_the_floor() {
        let e = RuntimeError::CpuBelowFloor {
            missing: "AVX2, FMA".into(),
        };
        let text = e.to_string();
        assert!(text.contains("AVX2, FMA"), "{text}");
        assert!(text.contains(FLOOR), "{text}");
    }
}
