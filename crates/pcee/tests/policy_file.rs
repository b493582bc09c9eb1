//! The policy file round-trips and gives the same policy as the diagrams it stores.

use pcee::calibrate::{CalibrateError, CalibrateOptions, Choice};
use pcee::policy::MethodParams;
use pcee::policy_file::PolicyFile;
use pcee::Delta;
use pcee::{exits_of, reliability_diagrams, ExitLogits, Method, ScoreTable};
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn write_then_read_is_the_same_policy() {
    let val = ExitLogits::read(&fixture("good_f32_int64_flops.npz")).unwrap();
    let scores = ScoreTable::from_logits(&val);
    let diagrams = reliability_diagrams(&scores, 5);
    let dir = tempfile::tempdir().unwrap();
    for method in [Method::Confidence, Method::Pcee, Method::PceeWs] {
        let policy = PolicyFile::from_diagrams(
            method,
            diagrams.clone(),
            val.flops(),
            Delta::new(0.75).unwrap(),
            2,
            "val.npz",
        );
        let path = dir.path().join("policy.json");
        policy.write(&path).unwrap();
        let read = PolicyFile::read(&path).unwrap();
        assert_eq!(read, policy);
        assert_eq!(read.flops(), vec![10.0, 25.0, 50.0]);
        for delta in [0.0, 0.5, 0.9, 1.0] {
            let from_file = exits_of(read.policy(Delta::new(delta).unwrap()).as_ref(), &scores);
            let direct = exits_of(method.policy(&diagrams, delta, 2).as_ref(), &scores);
            assert_eq!(from_file, direct, "{method} at δ = {delta}");
        }
    }
    let oracle = CalibrateOptions {
        method: Method::Oracle,
        bins: 5,
        binning: pcee::Binning::Width,
        params: MethodParams::default(),
        temperature: false,
        delta: Delta::new(0.9).unwrap(),
        choice: Choice::Given,
    };
    assert_eq!(
        PolicyFile::calibrate(&val, "v", &oracle).unwrap_err(),
        CalibrateError::Oracle
    );
}
