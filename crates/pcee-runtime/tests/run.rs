//! The one early-exit loop on a host-only toy network, every expected value worked out by hand.
//!
//! `Toy`: one `float32` input `x` of shape `[1]`; the state is `x` itself; head `e` writes the
//! logits `[0, (e + 1)·x]`, so a row's confidence at exit `e` is sigmoid((e + 1)·|x|) and its
//! prediction is 1 when x > 0. Under confidence thresholding at 0.9 a row leaves at the first
//! exit where (e + 1)·|x| ≥ ln 9 ≈ 2.197.

use pcee::policy::ConfidenceThreshold;
use pcee::ExitPolicy;
use pcee_runtime::{
    advance, early_exit_batch, exit_logits, full_batch, measure_many, Batch, DType, HostTensor,
    InputSpec, Inputs, MeasureOptions, NetworkSpec, Row, RuntimeError, Stages, Values,
};
use std::cell::Cell;

#[derive(Default)]
struct Counts {
    embeds: usize,
    stage_rows: Vec<usize>,
    heads_read: usize,
    heads_unread: usize,
    selects: usize,
}

struct Toy {
    network: NetworkSpec,
    counts: Counts,
    fail_at: Option<usize>,
}

impl Toy {
    fn new(exits: usize) -> Toy {
        Toy {
            network: NetworkSpec {
                classes: 2,
                flops: (1..=exits).map(|e| e as f64 * 10.0).collect(),
                inputs: vec![InputSpec {
                    name: "x".into(),
                    dtype: DType::Float32,
                    shape: vec![1],
                }],
            },
            counts: Counts::default(),
            fail_at: None,
        }
    }

    fn batch(&mut self, x: &[f32]) -> Vec<f32> {
        let t = HostTensor::new("x", vec![x.len(), 1], Values::F32(x.to_vec())).unwrap();
        self.input(Inputs::new(vec![t]).unwrap()).unwrap()
    }
}

impl Stages for Toy {
    type Input = Vec<f32>;
    type State = Vec<f32>;

    fn network(&self) -> &NetworkSpec {
        &self.network
    }

    fn input(&mut self, inputs: Inputs) -> Result<Vec<f32>, RuntimeError> {
        self.network.check_inputs(&inputs)?;
        match inputs.into_tensors().remove(0).into_values() {
            Values::F32(v) => Ok(v),
            _ => unreachable!("checked"),
        }
    }

    fn embed(&mut self, input: &Vec<f32>) -> Result<Vec<f32>, RuntimeError> {
        self.counts.embeds += 1;
        Ok(input.clone())
    }

    fn stage(&mut self, e: usize, state: Vec<f32>) -> Result<Vec<f32>, RuntimeError> {
        if self.fail_at == Some(e) {
            return Err(RuntimeError::backend(format!("stage {e}"), "it broke"));
        }
        self.counts.stage_rows.push(state.len());
        Ok(state)
    }

    fn head(&mut self, e: usize, state: &Vec<f32>) -> Result<Vec<f32>, RuntimeError> {
        self.counts.heads_read += 1;
        Ok(state
            .iter()
            .flat_map(|&x| [0.0, (e + 1) as f32 * x])
            .collect())
    }

    fn head_unread(&mut self, _e: usize, _state: &Vec<f32>) -> Result<(), RuntimeError> {
        self.counts.heads_unread += 1;
        Ok(())
    }

    fn rows(&self, state: &Vec<f32>) -> usize {
        state.len()
    }

    fn select(&mut self, state: Vec<f32>, rows: &[usize]) -> Result<Vec<f32>, RuntimeError> {
        self.counts.selects += 1;
        Ok(rows.iter().map(|&r| state[r]).collect())
    }

    fn concat(&mut self, states: Vec<Vec<f32>>) -> Result<Vec<f32>, RuntimeError> {
        Ok(states.concat())
    }

    fn split(
        &mut self,
        mut state: Vec<f32>,
        k: usize,
    ) -> Result<(Vec<f32>, Vec<f32>), RuntimeError> {
        let tail = state.split_off(k);
        Ok((state, tail))
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

#[test]
fn rows_leave_where_the_policy_says_and_only_survivors_run_on() {
    let mut toy = Toy::new(3);
    let x = toy.batch(&[3.0, 1.5, 0.8, 0.1, -3.0]);
    let policy = ConfidenceThreshold { delta: 0.9 };
    let d = early_exit_batch(&mut toy, &policy, &x).unwrap();
    let exits: Vec<usize> = d.iter().map(|d| d.exit).collect();
    assert_eq!(exits, [0, 1, 2, 2, 0]);
    let predictions: Vec<u32> = d.iter().map(|d| d.prediction).collect();
    assert_eq!(predictions, [1, 1, 1, 1, 0]);
    // sigmoid(3), sigmoid(2 · 1.5), sigmoid(3 · 0.8), sigmoid(3 · 0.1), sigmoid(3).
    for (got, z) in d.iter().zip([3.0, 3.0, 2.4, 0.3, 3.0]) {
        assert!((got.confidence - sigmoid(z)).abs() < 1e-6, "{got:?} vs {z}");
    }
    assert_eq!(toy.counts.stage_rows, [5, 3, 2]);
    assert_eq!(toy.counts.selects, 2);
}

#[test]
fn nothing_is_gathered_when_no_row_leaves_and_the_loop_stops_when_all_have() {
    let mut toy = Toy::new(4);
    let x = toy.batch(&[0.1, 0.2, -0.1]);
    let d = early_exit_batch(&mut toy, &ConfidenceThreshold { delta: 0.9 }, &x).unwrap();
    assert!(d.iter().all(|d| d.exit == 3));
    assert_eq!(toy.counts.stage_rows, [3, 3, 3, 3]);
    assert_eq!(toy.counts.selects, 0);

    let mut toy = Toy::new(4);
    let x = toy.batch(&[5.0, -5.0]);
    let d = early_exit_batch(&mut toy, &ConfidenceThreshold { delta: 0.9 }, &x).unwrap();
    assert!(d.iter().all(|d| d.exit == 0));
    assert_eq!(toy.counts.stage_rows, [2]);
}

#[test]
fn the_full_network_runs_every_head_and_reads_only_the_last() {
    let mut toy = Toy::new(3);
    let x = toy.batch(&[3.0, -0.5]);
    let d = full_batch(&mut toy, &x).unwrap();
    assert_eq!(d.iter().map(|d| d.exit).collect::<Vec<_>>(), [2, 2]);
    assert!((d[1].confidence - sigmoid(1.5)).abs() < 1e-6);
    assert_eq!(d[1].prediction, 0);
    assert_eq!((toy.counts.heads_read, toy.counts.heads_unread), (1, 2));
    assert_eq!(toy.counts.stage_rows, [2, 2, 2]);

    let logits = exit_logits(&mut toy, &x).unwrap();
    assert_eq!(
        logits,
        [
            vec![0.0, 3.0, 0.0, -0.5],
            vec![0.0, 6.0, 0.0, -1.0],
            vec![0.0, 9.0, 0.0, -1.5]
        ]
    );
}

struct Counted<'a> {
    policy: &'a dyn ExitPolicy,
    seen: Cell<usize>,
}

impl Row for Counted<'_> {
    fn policy(&self) -> &dyn ExitPolicy {
        self.policy
    }
    fn saw(&self, _exit: usize, logits: &[f32]) {
        assert_eq!(logits.len(), 2);
        self.seen.set(self.seen.get() + 1);
    }
}

#[test]
fn each_row_asks_its_own_policy_and_is_seen_once_per_head_it_passes() {
    let mut toy = Toy::new(3);
    let x = toy.batch(&[1.5, 1.5]);
    let (strict, loose) = (
        ConfidenceThreshold { delta: 0.99 },
        ConfidenceThreshold { delta: 0.5 },
    );
    let rows = vec![
        Counted {
            policy: &strict,
            seen: Cell::new(0),
        },
        Counted {
            policy: &loose,
            seen: Cell::new(0),
        },
    ];
    let state = toy.embed(&x).unwrap();
    let mut batch = Batch { state, rows };
    let mut left = Vec::new();
    for e in 0..3 {
        let a = advance(&mut toy, e, batch);
        assert!(a.failed.is_none());
        left.extend(a.exited.into_iter().map(|(r, d)| (r.seen.get(), d.exit)));
        match a.rest {
            Some(rest) => batch = rest,
            None => break,
        }
    }
    // The loose row leaves at exit 0 (sigmoid(1.5) ≈ 0.82 ≥ 0.5) after one head; the strict
    // one needs 3 · 1.5 = 4.5 ≥ ln 99 ≈ 4.595: never, so it takes the last exit after three.
    assert_eq!(left, [(1, 0), (3, 2)]);
}

#[test]
fn a_failed_stage_is_an_error_with_its_rows_never_a_panic() {
    let mut toy = Toy::new(3);
    toy.fail_at = Some(1);
    let x = toy.batch(&[3.0, 0.1, 0.2]);
    let err = early_exit_batch(&mut toy, &ConfidenceThreshold { delta: 0.9 }, &x).unwrap_err();
    assert_eq!(err.to_string(), "stage 1: it broke");
    let state = toy.embed(&x).unwrap();
    let rows: Vec<_> = (0..3)
        .map(|index| pcee_runtime::Pos {
            index,
            policy: &ConfidenceThreshold { delta: 0.9 },
        })
        .collect();
    let a = advance(&mut toy, 1, Batch { state, rows });
    let f = a.failed.expect("failed");
    assert_eq!(
        f.rows.iter().map(|r| r.index).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    assert!(a.exited.is_empty() && a.rest.is_none());
}

#[test]
fn inputs_of_another_name_type_or_shape_are_named_in_one_line() {
    let mut toy = Toy::new(2);
    let wrong = |name: &str, shape: Vec<usize>, values: Values| {
        Inputs::new(vec![HostTensor::new(name, shape, values).unwrap()]).unwrap()
    };
    let err = toy
        .input(wrong("y", vec![2, 1], Values::F32(vec![0.0; 2])))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "y: y float32 with per-sample shape [1]; expected x float32 [1]"
    );
    let err = toy
        .input(wrong("x", vec![2, 1], Values::I64(vec![0; 2])))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "x: x int64 with per-sample shape [1]; expected x float32 [1]"
    );
    let err = toy
        .input(wrong("x", vec![1, 2], Values::F32(vec![0.0; 2])))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "x: x float32 with per-sample shape [2]; expected x float32 [1]"
    );
}

#[test]
fn every_policy_and_the_full_network_run_once_per_round_on_every_batch() {
    let mut toy = Toy::new(3);
    let batches = vec![toy.batch(&[1.0, 2.0, 3.0]), toy.batch(&[-1.0])];
    let (stop_at_once, never) = (
        ConfidenceThreshold { delta: 0.0 },
        ConfidenceThreshold { delta: 1.1 },
    );
    let options = MeasureOptions {
        batch: 3,
        repeats: 4,
        ..MeasureOptions::default()
    };
    let reports = measure_many(
        &mut toy,
        &[&stop_at_once, &never],
        &batches,
        &[1u32, 1, 1, 0],
        &options,
    )
    .unwrap();
    // Warm-up: both batches (⌈2 048 / 3⌉ clamped to 2) once per mode; then 4 rounds of both
    // batches per mode: 3 modes × (2 + 8) batches embedded.
    assert_eq!(toy.counts.embeds, 30);
    // The full network: 10 batches, each running heads 0 and 1 unread.
    assert_eq!(toy.counts.heads_unread, 20);
    assert_eq!(reports.len(), 2);
    assert!(reports
        .iter()
        .all(|r| r.samples == 4 && r.repeats == 4 && r.outcome.accuracy == 1.0));
    assert!(reports[0].decisions.iter().all(|d| d.exit == 0));
    assert!(reports[1].decisions.iter().all(|d| d.exit == 2));
    // Mean FLOPs: exit 0 costs 10, exit 2 costs 30 (Toy's flops), of a full 30.
    assert!((reports[0].outcome.mean_flops - 10.0).abs() < 1e-12);
    assert!((reports[1].outcome.mean_flops - 30.0).abs() < 1e-12);
}

#[test]
fn the_warm_up_runs_the_first_batches_it_asks_for() {
    let mut toy = Toy::new(3);
    let batches = vec![
        toy.batch(&[1.0, 2.0]),
        toy.batch(&[3.0, 4.0]),
        toy.batch(&[-1.0, -2.0]),
    ];
    let never = ConfidenceThreshold { delta: 1.1 };
    let run = |toy: &mut Toy, warmup| {
        toy.counts = Default::default();
        let options = MeasureOptions {
            batch: 2,
            repeats: 1,
            warmup,
        };
        measure_many(toy, &[&never], &batches, &[1u32, 1, 1, 1, 0, 0], &options).unwrap();
        toy.counts.embeds
    };
    // One round: 2 modes × 3 batches = 6 embeds, plus the warm-up's batches in each mode.
    // 0 or 1 sample: one batch (at least one) → 6 + 2 × 1.
    assert_eq!(run(&mut toy, 0), 8);
    assert_eq!(run(&mut toy, 1), 8);
    // 3 samples: ⌈3 / 2⌉ = 2 batches → 6 + 2 × 2.
    assert_eq!(run(&mut toy, 3), 10);
    // More than there are: all 3 → 6 + 2 × 3.
    assert_eq!(run(&mut toy, 100), 12);
}

#[test]
fn stage_queues_reform_batches_oldest_first_splitting_the_last_chunk() {
    use pcee_runtime::{Pos, StageQueues};
    use std::time::{Duration, Instant};
    let mut toy = Toy::new(3);
    let policy = ConfidenceThreshold { delta: 0.9 };
    let chunk = |from: usize, values: &[f32]| Batch {
        state: values.to_vec(),
        rows: (from..from + values.len())
            .map(|index| Pos {
                index,
                policy: &policy,
            })
            .collect(),
    };
    let mut queues = StageQueues::new(3);
    let t0 = Instant::now();
    queues.push(1, chunk(0, &[0.0, 0.1, 0.2]), t0);
    queues.push(
        1,
        chunk(3, &[0.3, 0.4, 0.5, 0.6]),
        t0 + Duration::from_millis(5),
    );
    assert_eq!(queues.rows(1), 7);
    let taken = queues.take(&mut toy, 1, 5);
    assert!(taken.lost.is_empty());
    let batch = taken.batch.unwrap().ok().unwrap();
    assert_eq!(batch.state, [0.0, 0.1, 0.2, 0.3, 0.4]);
    assert_eq!(
        batch.rows.iter().map(|r| r.index).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4]
    );
    // The split chunk's tail stays at the head, with its own arrival time.
    assert_eq!(queues.rows(1), 2);
    let views: Vec<_> = queues.views(t0 + Duration::from_millis(20)).collect();
    assert_eq!(
        (views[0].rows, views[0].oldest),
        (2, Duration::from_millis(15))
    );
    assert_eq!((views[1].rows, views[1].oldest), (0, Duration::ZERO));
    let rest = queues.take(&mut toy, 1, 5).batch.unwrap().ok().unwrap();
    assert_eq!(rest.state, [0.5, 0.6]);
    assert!(queues.take(&mut toy, 1, 5).batch.is_none());
}
