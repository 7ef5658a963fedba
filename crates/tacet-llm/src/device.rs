//! Where the drafting model runs: the CPU (the default, and all CI has), or
//! an NVIDIA GPU through candle's CUDA backend when the crate is built with
//! the `cuda` feature.
//!
//! The choice is a value, not a build: a binary built with `cuda` still
//! runs on the CPU unless asked, and asking a binary built without it for a
//! GPU is an error that says how to get one, never a silent fall back to
//! the CPU (a practice that bought a GPU should know it is not used).
//!
//! On a GPU the model runs candle's ops alone ([`crate::blocks::Ops`]): our
//! kernels read CPU memory. Weights, the KV cache and the activations live
//! in GPU memory; the KV cache (keys and values computed from the
//! transcript) is zeroed there by the same wipe as on the CPU. Logits come
//! back to the CPU for sampling, so sampling and its seed behave the same
//! on both.

use crate::error::LlmError;
use std::fmt;
use std::str::FromStr;

/// The device a model is loaded on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LlmDevice {
    #[default]
    Cpu,
    /// The CUDA device with this ordinal (0 for the first GPU).
    Cuda { ordinal: usize },
}

impl LlmDevice {
    /// Whether this build can run models on CUDA devices.
    pub const fn cuda_compiled() -> bool {
        cfg!(feature = "cuda")
    }

    /// The candle device, opened (a CUDA context is created here, so a
    /// missing driver or GPU is found at load, not at the first token).
    pub(crate) fn open(self) -> Result<candle_core::Device, LlmError> {
        match self {
            LlmDevice::Cpu => Ok(candle_core::Device::Cpu),
            LlmDevice::Cuda { ordinal } => open_cuda(self, ordinal),
        }
    }
}

#[cfg(feature = "cuda")]
fn open_cuda(device: LlmDevice, ordinal: usize) -> Result<candle_core::Device, LlmError> {
    candle_core::Device::new_cuda(ordinal).map_err(|e| LlmError::Device {
        device: device.to_string(),
        problem: format!(
            "cannot open it ({}); check the NVIDIA driver and that the GPU exists",
            crate::error::without_backtrace(e)
        ),
    })
}

#[cfg(not(feature = "cuda"))]
fn open_cuda(device: LlmDevice, _ordinal: usize) -> Result<candle_core::Device, LlmError> {
    Err(LlmError::Device {
        device: device.to_string(),
        problem:
            "this build has no CUDA support; build with `--features cuda` (docs/GPU.md) or use cpu"
                .to_string(),
    })
}

impl fmt::Display for LlmDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LlmDevice::Cpu => f.write_str("cpu"),
            LlmDevice::Cuda { ordinal } => write!(f, "cuda:{ordinal}"),
        }
    }
}

impl FromStr for LlmDevice {
    type Err = LlmError;

    /// `cpu`, `cuda` (the first GPU) or `cuda:N`, in any case.
    fn from_str(s: &str) -> Result<Self, LlmError> {
        let t = s.trim().to_ascii_lowercase();
        let bad = || LlmError::Device {
            device: s.to_string(),
            problem: "not a device; use cpu, cuda or cuda:N".to_string(),
        };
        match t.as_str() {
            "cpu" => Ok(LlmDevice::Cpu),
            "cuda" => Ok(LlmDevice::Cuda { ordinal: 0 }),
            _ => match t.strip_prefix("cuda:") {
                Some(n) => n
                    .parse::<usize>()
                    .map(|ordinal| LlmDevice::Cuda { ordinal })
                    .map_err(|_| bad()),
                None => Err(bad()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_parse_and_print_as_they_are_written() {
        for (text, device) in [
            ("cpu", LlmDevice::Cpu),
            ("CUDA", LlmDevice::Cuda { ordinal: 0 }),
            (" cuda:1 ", LlmDevice::Cuda { ordinal: 1 }),
        ] {
            assert_eq!(text.parse::<LlmDevice>().unwrap(), device);
        }
        assert_eq!(LlmDevice::Cuda { ordinal: 2 }.to_string(), "cuda:2");
        assert_eq!(LlmDevice::default(), LlmDevice::Cpu);
    }

    #[test]
    fn fail_a_device_that_is_not_one_is_refused_by_name() {
        for text in ["gpu", "cuda:", "cuda:x", "metal", ""] {
            let e = text.parse::<LlmDevice>().unwrap_err().to_string();
            assert!(e.contains("cpu, cuda or cuda:N"), "{text}: {e}");
        }
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn fail_a_gpu_in_a_build_without_cuda_says_how_to_get_one() {
        let e = LlmDevice::Cuda { ordinal: 0 }
            .open()
            .unwrap_err()
            .to_string();
        assert!(e.contains("cuda:0") && e.contains("--features cuda"), "{e}");
    }
}
