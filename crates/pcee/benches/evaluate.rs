//! Throughput of scoring and evaluation on synthetic logits (samples/s):
//! 1 000 000 samples × 8 exits × 10 classes, and 50 000 samples × 8 exits × 1 000 classes.
//! Run with `cargo bench -p pcee --features bench`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use pcee::{evaluate, reliability_diagrams, ExitLogits, Method, ScoreTable};
use std::hint::black_box;

/// Synthetic float32 logits `[exits, samples, classes]`: noise plus a bump on the label that
/// grows with depth, so later exits are more accurate and confident, as in a trained network.
fn synthetic(exits: usize, samples: usize, classes: usize) -> ExitLogits {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        // xorshift64*: fast, deterministic; quality is irrelevant here.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as f32 / (1u64 << 24) as f32
    };
    let labels: Vec<i64> = (0..samples)
        .map(|_| (next() * classes as f32) as i64 % classes as i64)
        .collect();
    let mut logits = Vec::with_capacity(exits * samples * classes);
    for exit in 0..exits {
        let signal = 1.0 + exit as f32;
        for &label in &labels {
            logits.extend(
                (0..classes).map(|k| 4.0 * next() + if k as i64 == label { signal } else { 0.0 }),
            );
        }
    }
    let flops = (1..=exits).map(|l| l as f64 * 1e6).collect();
    ExitLogits::from_f32([exits, samples, classes], logits, labels, Some(flops))
        .expect("valid synthetic logits")
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("pcee");
    group.sample_size(10);
    for (samples, classes) in [(1_000_000, 10), (50_000, 1000)] {
        let logits = synthetic(8, samples, classes);
        let name = format!("{samples}x8x{classes}");
        group.throughput(Throughput::Elements(samples as u64));
        let scores = ScoreTable::from_logits(&logits);
        let diagrams = reliability_diagrams(&scores, 10);
        let policy = Method::Pcee.policy(&diagrams, 0.9, 1);
        group.bench_function(BenchmarkId::new("score", &name), |b| {
            b.iter(|| ScoreTable::from_logits(black_box(&logits)))
        });
        group.bench_function(BenchmarkId::new("diagrams", &name), |b| {
            b.iter(|| reliability_diagrams(black_box(&scores), 10))
        });
        group.bench_function(BenchmarkId::new("evaluate_pcee", &name), |b| {
            b.iter(|| evaluate(policy.as_ref(), black_box(&scores), logits.flops()))
        });
        group.bench_function(BenchmarkId::new("logits_to_outcome", &name), |b| {
            b.iter(|| {
                evaluate(
                    policy.as_ref(),
                    &ScoreTable::from_logits(black_box(&logits)),
                    logits.flops(),
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
