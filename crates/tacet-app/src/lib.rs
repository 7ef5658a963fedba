//! tacet-app
