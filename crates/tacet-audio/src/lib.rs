//! tacet-audio
