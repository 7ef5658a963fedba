//! tacet-models
