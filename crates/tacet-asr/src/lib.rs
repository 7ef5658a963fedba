//! tacet-asr
