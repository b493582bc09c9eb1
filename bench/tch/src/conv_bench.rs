//! `conv-bench CARD.json [--batch 256] [--runs 20] [--threads T]`: every convolution of an MSDNet
//! model card's plan (grouped by shape, with how often it occurs), timed layer by layer —
//! conv, BatchNorm (inference), ReLU — on burn's `flex` backend and on burn's `tch` backend
//! (libtorch), median of `--runs` runs on a random input of the layer's shape. Prints a
//! Markdown table and, per device, the time of one full pass's convolutions (Σ count × median),
//! so the gap to PyTorch (bench/pytorch/profile.py --convs) can be pinned on layer shapes.
//! Built with bench/tch/build.sh (binary target/release/conv-bench; run it with the venv's
//! torch/lib on LD_LIBRARY_PATH, as the pcee-tch wrapper does).

use pcee_nn::arch::msdnet::plan::{ConvSpec, MsdNetPlan};
use pcee_nn::arch::ArchConfig;
use pcee_nn::burn::nn::conv::Conv2dConfig;
use pcee_nn::burn::nn::{BatchNormConfig, PaddingConfig2d};
use pcee_nn::burn::tensor::activation::relu;
use pcee_nn::burn::tensor::{Device, Distribution, Tensor};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[(v.len() - 1) / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T, sync: impl Fn(&T)) -> f64 {
    let r = f();
    sync(&r);
    let mut ts = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let r = f();
        sync(&r);
        ts.push(t.elapsed().as_secs_f64());
    }
    median(ts)
}

/// (conv, bn, relu) seconds for one layer of `spec` at batch `b` on `device`.
fn layer(spec: &ConvSpec, b: usize, runs: usize, device: &Device) -> [f64; 3] {
    let pad = spec.kernel / 2;
    let conv = Conv2dConfig::new([spec.c_in, spec.c_out], [spec.kernel, spec.kernel])
        .with_stride([spec.stride, spec.stride])
        .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
        .with_bias(false)
        .init(device);
    let bn = BatchNormConfig::new(spec.c_out).init(device);
    let x: Tensor<4> = Tensor::random(
        [b, spec.c_in, spec.side_in, spec.side_in],
        Distribution::Normal(0.0, 1.0),
        device,
    );
    // Reading one value forces completion on any backend.
    let sync = |t: &Tensor<4>| {
        let _ = t.clone().slice([0..1, 0..1, 0..1, 0..1]).into_data();
    };
    let y = conv.forward(x.clone());
    let z = bn.forward(y.clone());
    [
        time(runs, || conv.forward(x.clone()), sync),
        time(runs, || bn.forward(y.clone()), sync),
        time(runs, || relu(z.clone()), sync),
    ]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let card = PathBuf::from(args.next().unwrap_or_else(|| {
        eprintln!("error: usage: conv-bench CARD.json [--batch 256] [--runs 20] [--threads T]");
        std::process::exit(2)
    }));
    let (mut batch, mut runs, mut threads) = (256usize, 20usize, None);
    let rest: Vec<String> = args.collect();
    for pair in rest.chunks(2) {
        let v: usize = pair.get(1).and_then(|v| v.parse().ok()).unwrap_or_else(|| {
            eprintln!("error: {}: expected a positive integer", pair[0]);
            std::process::exit(2)
        });
        match pair[0].as_str() {
            "--batch" => batch = v,
            "--runs" => runs = v,
            "--threads" => threads = Some(v),
            f => {
                eprintln!("error: {f}: unknown option");
                std::process::exit(2)
            }
        }
    }
    if let Some(t) = threads {
        tch::set_num_threads(t as i32);
    }
    let weights = card.with_extension("safetensors");
    let card = pcee_nn::store::read_card(&weights).unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(1)
    });
    let ArchConfig::Msdnet(cfg) = card.config else {
        eprintln!("error: {}: not an MSDNet card", weights.display());
        std::process::exit(1)
    };
    let plan = MsdNetPlan::new(&cfg);
    // (c_in, c_out, kernel, stride, side_in) -> (count, kind)
    let mut shapes: BTreeMap<(usize, usize, usize, usize, usize), (usize, &str)> = BTreeMap::new();
    let mut add = |s: &ConvSpec, kind: &'static str| {
        shapes.entry((s.side_in, s.kernel, s.stride, s.c_in, s.c_out)).or_insert((0, kind)).0 += 1;
    };
    plan.stem.iter().for_each(|s| add(s, "stem"));
    for b in &plan.blocks {
        b.transition.iter().for_each(|s| add(s, "transition"));
        for l in &b.layers {
            for sp in l {
                if let Some(d) = &sp.down {
                    add(&d[0], "down 1x1");
                    add(&d[1], "down 3x3/2");
                }
                add(&sp.normal[0], "normal 1x1");
                add(&sp.normal[1], "normal 3x3");
            }
        }
        b.head_convs.iter().for_each(|s| add(s, "head"));
    }
    #[allow(deprecated)] // burn 0.22 marks burn-tch deprecated; it is what the issue asks to compare
    let devices = [("flex", Device::flex()), ("tch", Device::libtorch())];
    println!("batch {batch}, median of {runs} runs; ms per layer call: conv / bn / relu");
    println!("| side | k | stride | c_in→c_out | kind | count | MFLOPs/img | flex conv/bn/relu | tch conv/bn/relu | flex conv GFLOP/s |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut totals = [[0.0f64; 3]; 2];
    for (&(side, k, stride, c_in, c_out), &(count, kind)) in &shapes {
        let spec = ConvSpec { c_in, c_out, kernel: k, stride, side_in: side };
        let mut cells = Vec::new();
        let mut flex_conv = 0.0;
        for (d, (_, dev)) in devices.iter().enumerate() {
            let t = layer(&spec, batch, runs, dev);
            for i in 0..3 {
                totals[d][i] += count as f64 * t[i];
            }
            if d == 0 {
                flex_conv = t[0];
            }
            cells.push(format!("{:.2} / {:.2} / {:.2}", 1e3 * t[0], 1e3 * t[1], 1e3 * t[2]));
        }
        println!(
            "| {side} | {k} | {stride} | {c_in}→{c_out} | {kind} | {count} | {:.3} | {} | {} | {:.1} |",
            spec.flops() / 1e6,
            cells[0],
            cells[1],
            spec.flops() * batch as f64 / flex_conv / 1e9
        );
    }
    for (d, (name, _)) in devices.iter().enumerate() {
        let [c, b, r] = totals[d];
        println!(
            "{name}: one pass's convolutions {:.1} ms, BatchNorms {:.1} ms, ReLUs {:.1} ms (sum {:.1} ms)",
            1e3 * c, 1e3 * b, 1e3 * r, 1e3 * (c + b + r)
        );
    }
}
