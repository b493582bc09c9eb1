use super::*;

fn answer(replica: &str, labelled: u64, correct: u64) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "replica": replica,
        "policies": [{"digest": "sha256:aa", "delta": 0.9, "counts": {
            "decided": labelled, "exit0_bins": [labelled, 0],
            "exits": [{"exited": labelled, "labelled": labelled, "correct": correct},
                      {"exited": 0, "labelled": 0, "correct": 0}]}}]
    }))
    .unwrap()
}

fn config() -> MonitorConfig {
    MonitorConfig {
        window: 10,
        alpha: 0.05,
        ..MonitorConfig::default()
    }
}

#[test]
fn replicas_add_and_a_restarted_one_keeps_its_old_counts() {
    let mut state = FleetState::default();
    state.take(&answer("r1", 4, 4)).unwrap();
    state.take(&answer("r2", 5, 5)).unwrap();
    let views = state.evaluate(&config()).unwrap();
    assert_eq!(views[0].counts.exits[0].labelled, 9);
    assert!(views[0].alarms.is_empty());
    // r2 restarts under a new boot id: its 5 stay; r1 grows; 6 new labels, all wrong.
    state.take(&answer("r2-new", 3, 0)).unwrap();
    state.take(&answer("r1", 7, 4)).unwrap();
    let views = state.evaluate(&config()).unwrap();
    assert_eq!(views[0].counts.exits[0].labelled, 15);
    assert_eq!(views[0].counts.exits[0].correct, 9);
    // One block of 15 (≥ 10) with 9 right: its upper bound at level α/2 is below 0.9.
    assert_eq!(views[0].new_alarms, 1);
    assert_eq!(views[0].alarms[0].labelled, 15);
}

#[test]
fn counts_that_go_backwards_or_are_not_an_answer_are_refused() {
    let mut state = FleetState::default();
    state.take(&answer("r1", 12, 12)).unwrap();
    state.evaluate(&config()).unwrap();
    state.take(&answer("r1", 11, 11)).unwrap();
    assert!(state
        .evaluate(&config())
        .unwrap_err()
        .contains("counts only grow"));
    assert!(state
        .take(b"{}")
        .unwrap_err()
        .contains("not a counts answer"));
}

#[test]
fn a_state_continues_only_with_its_own_settings() {
    let mut state = FleetState::default();
    state.take(&answer("r1", 4, 4)).unwrap();
    state.evaluate(&config()).unwrap();
    let other = MonitorConfig {
        window: 20,
        ..config()
    };
    assert!(state.evaluate(&other).unwrap_err().contains("window 10"));
    state.evaluate(&config()).unwrap();
}
