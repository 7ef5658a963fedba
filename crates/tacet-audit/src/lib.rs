//! tacet-audit
