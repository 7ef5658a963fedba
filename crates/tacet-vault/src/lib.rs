//! tacet-vault
