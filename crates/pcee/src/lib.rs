//! pcee core: reliability diagrams, ECE, exit policies (confidence, PCEE, PCEE-WS, oracle)
//! and their evaluation on per-exit logits. Pure Rust, no tensor framework.
