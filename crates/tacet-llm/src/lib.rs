//! tacet-llm
