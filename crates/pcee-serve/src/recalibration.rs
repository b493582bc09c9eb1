//! Opt-in automatic re-calibration (`pcee serve --recalibrate N`; docs/methods.md §8).
//!
//! The monitor ([`crate::monitoring`]) only sees each image's confidences up to the exit it
//! left at, but a PCEE policy is calibrated on every exit's confidence of every image. So, when
//! re-calibration is on, the server keeps the pixels of the images the monitor watches (at most
//! [`KEPT_PER_WINDOW`] × `N`, the oldest forgotten first); a label moves its image into a ring of
//! the last `N` labelled images. At the monitor's first alarm on the policy in force, those
//! images run through **every** exit (the cost of `N` full passes, once per alarm, on the
//! thread of the request that posted the label), the policy is re-calibrated on them alone —
//! [`pcee::monitor::recalibrate::recalibrate`], the rule `pcee monitor --recalibrate` measures
//! offline — and the new policy replaces the old one atomically, as `PUT /v1/policy` does.
//!
//! Every swap (automatic, `PUT` or `SIGHUP`) starts the window over: the images kept were
//! decided by the policy swapped out, and the monitor forgets them too.

use pcee::monitor::recalibrate::recalibrate;
use pcee::{Delta, ExitLogits, PolicyFile};
use pcee_nn::data::Dataset;
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Pixels are kept for at most this many times `N` watched images awaiting their label.
pub const KEPT_PER_WINDOW: usize = 20;

/// Images per batch of the full passes on the labelled window.
const BATCH: usize = 256;

/// One automatic re-calibration, shown by `GET /v1/monitor`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecalibrationRecord {
    /// Labels the monitor had received on the old policy when its alarm fired.
    pub labelled: u64,
    /// Labelled images the new policy was calibrated on (≤ `N`).
    pub window: usize,
    /// The version of the policy re-calibrated.
    pub from_version: u64,
    /// The version swapped in; `None` when the re-calibration failed (see `error`).
    pub to_version: Option<u64>,
    /// Why it failed, when it did (the policy in force stays).
    pub error: Option<String>,
    /// The last exit's accuracy on the window's images (the new policy's last diagram), when
    /// it was swapped in. Below δ, no exit policy reaches δ on this traffic: the monitor will
    /// alarm again and re-calibrate again; lower δ instead.
    pub last_exit_accuracy: Option<f64>,
}

/// A labelled window, taken for one re-calibration.
pub struct Window {
    /// `[n, 28, 28]` pixels.
    pub images: Vec<u8>,
    /// `[n]` true labels.
    pub labels: Vec<u8>,
}

/// The images kept for re-calibration and its history.
pub struct Recalibrator {
    window: usize,
    state: Mutex<Kept>,
    log: Mutex<Vec<RecalibrationRecord>>,
}

#[derive(Default)]
struct Kept {
    /// Policy version whose images are kept.
    version: u64,
    pixels: HashMap<u64, Vec<u8>>,
    order: VecDeque<u64>,
    labelled: VecDeque<(Vec<u8>, u8)>,
    /// Whether this version already alarmed (re-calibration runs at the first alarm only).
    done: bool,
}

impl Recalibrator {
    /// Re-calibration from the last `window` (≥ 1) labelled images.
    pub fn new(window: usize) -> Recalibrator {
        Recalibrator {
            window: window.max(1),
            state: Mutex::new(Kept::default()),
            log: Mutex::new(Vec::new()),
        }
    }

    /// `N`, the labelled images each re-calibration uses.
    pub fn window(&self) -> usize {
        self.window
    }

    /// Keeps the pixels `[784]` of image `id`, watched by the monitor under policy `version`.
    pub fn keep(&self, version: u64, id: u64, pixels: &[u8]) {
        let mut kept = self.state.lock().expect("recalibration lock");
        if kept.version != version {
            *kept = Kept {
                version,
                ..Kept::default()
            };
        }
        kept.pixels.insert(id, pixels.to_vec());
        kept.order.push_back(id);
        while kept.order.len() > KEPT_PER_WINDOW * self.window {
            if let Some(old) = kept.order.pop_front() {
                kept.pixels.remove(&old);
            }
        }
    }

    /// Image `id` (of policy `version`) got its true `label`: it joins the labelled window
    /// when its pixels are still kept.
    pub fn labelled(&self, version: u64, id: u64, label: u8) {
        let mut kept = self.state.lock().expect("recalibration lock");
        if kept.version != version {
            return;
        }
        if let Some(pixels) = kept.pixels.remove(&id) {
            kept.labelled.push_back((pixels, label));
            if kept.labelled.len() > self.window {
                kept.labelled.pop_front();
            }
        }
    }

    /// The labelled window of policy `version`, when it has just alarmed for the first time
    /// and holds at least one image; `None` otherwise (marks the version as done either way).
    pub fn take(&self, version: u64) -> Option<Window> {
        let mut kept = self.state.lock().expect("recalibration lock");
        if kept.version != version || kept.done {
            return None;
        }
        kept.done = true;
        if kept.labelled.is_empty() {
            return None;
        }
        let (images, labels) = kept.labelled.iter().map(|(p, l)| (p.as_slice(), *l)).fold(
            (Vec::new(), Vec::new()),
            |(mut ps, mut ls), (p, l)| {
                ps.extend_from_slice(p);
                ls.push(l);
                (ps, ls)
            },
        );
        Some(Window { images, labels })
    }

    /// Records one re-calibration (success or failure).
    pub fn record(&self, record: RecalibrationRecord) {
        self.log.lock().expect("recalibration log").push(record);
    }

    /// Every re-calibration so far, in order.
    pub fn history(&self) -> Vec<RecalibrationRecord> {
        self.log.lock().expect("recalibration log").clone()
    }
}

/// `policy` re-calibrated at `delta` on `window`: every exit's logits of `model` on its images,
/// then [`recalibrate`] on all of them. Returns the new policy file's JSON text.
///
/// # Errors
/// A one-line reason when the model's logits cannot be assembled or the policy's method
/// cannot be calibrated at a given δ (e.g. a budget-only method).
pub fn recalibrated(
    model: &crate::engine::ServedNetwork,
    policy: &PolicyFile,
    delta: Delta,
    window: Window,
) -> Result<String, String> {
    let n = window.labels.len();
    let data = Dataset {
        images: window.images,
        labels: window.labels,
    };
    let outputs = model
        .exit_logits(&data, BATCH)
        .map_err(|err| format!("the window's logits: {err}"))?;
    let stream = ExitLogits::from_f32(
        outputs.shape,
        outputs.logits,
        outputs.labels,
        Some(outputs.flops),
    )
    .map_err(|err| format!("the window's logits: {err}"))?;
    let all: Vec<usize> = (0..n).collect();
    let fresh = recalibrate(policy, &stream, &all, delta).map_err(|err| err.to_string())?;
    Ok(fresh.to_json_text())
}
