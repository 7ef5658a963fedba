//! tacet-crypto
