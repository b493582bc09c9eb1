//! [`Model`]: a multi-exit network with its configuration, run whole or stage by stage.
//!
//! Stage-by-stage use (what the early-exit runtime does):
//! ```ignore
//! let mut state = model.embed(images);            // [B, 1, 28, 28] → State
//! for e in 0..model.exits() {
//!     state = model.stage(e, state);              // stage e (stage 0 includes the stem)
//!     let logits = model.exit_head(e, &state);    // [B, classes]
//!     // … keep only the rows that did not exit: state = state.select(&kept_rows);
//! }
//! ```

use crate::arch::{ArchConfig, MsdNet, Vit};
use crate::error::Result;
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor};

/// The interface every multi-exit architecture implements (generic code such as training is
/// written against it). `State` is what flows between stages.
pub trait MultiExit: Module + Clone + std::fmt::Debug + Send + 'static {
    /// The intermediate representation between stages.
    type State: Clone;
    /// Stem / embedding: images `[B, 1, 28, 28]` → the state before stage 0.
    fn embed(&self, images: Tensor<4>) -> Self::State;
    /// Stage `s` (`s < exits()`).
    fn stage(&self, s: usize, state: Self::State) -> Self::State;
    /// Logits `[B, classes]` of exit `e`, read from the state after stage `e`.
    fn exit_head(&self, e: usize, state: &Self::State) -> Tensor<2>;
    /// Number of exits.
    fn exits(&self) -> usize;

    /// All stages and all heads: one logits tensor `[B, classes]` per exit (training forward).
    fn forward_all(&self, images: Tensor<4>) -> Vec<Tensor<2>> {
        let mut state = self.embed(images);
        let mut logits = Vec::with_capacity(self.exits());
        for e in 0..self.exits() {
            state = self.stage(e, state);
            logits.push(self.exit_head(e, &state));
        }
        logits
    }
}

impl MultiExit for MsdNet {
    type State = Vec<Tensor<4>>;
    fn embed(&self, images: Tensor<4>) -> Self::State {
        MsdNet::embed(self, images)
    }
    fn stage(&self, s: usize, state: Self::State) -> Self::State {
        MsdNet::stage(self, s, state)
    }
    fn exit_head(&self, e: usize, state: &Self::State) -> Tensor<2> {
        MsdNet::exit_head(self, e, state)
    }
    fn exits(&self) -> usize {
        MsdNet::exits(self)
    }
}

impl MultiExit for Vit {
    type State = Tensor<3>;
    fn embed(&self, images: Tensor<4>) -> Self::State {
        Vit::embed(self, images)
    }
    fn stage(&self, s: usize, state: Self::State) -> Self::State {
        Vit::stage(self, s, state)
    }
    fn exit_head(&self, e: usize, state: &Self::State) -> Tensor<2> {
        Vit::exit_head(self, e, state)
    }
    fn exits(&self) -> usize {
        Vit::exits(self)
    }
}

/// The network of a [`Model`], one variant per architecture.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // one per model; boxing buys nothing
pub enum Network {
    /// MSDNet.
    MsdNet(MsdNet),
    /// Vision transformer.
    Vit(Vit),
}

/// State between stages of a [`Model`]: MSDNet's per-scale feature maps (finest first,
/// `[B, C_s, side_s, side_s]`) or the ViT's tokens `[B, T, d]`.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // a handful per batch; boxing buys nothing
pub enum State {
    /// MSDNet feature maps of the active scales.
    Scales(Vec<Tensor<4>>),
    /// ViT tokens.
    Tokens(Tensor<3>),
}

impl State {
    /// Keep only the batch rows `rows` (`[K]` indices into the batch), in that order.
    pub fn select(self, rows: &Tensor<1, Int>) -> State {
        match self {
            State::Scales(xs) => {
                State::Scales(xs.into_iter().map(|x| x.select(0, rows.clone())).collect())
            }
            State::Tokens(x) => State::Tokens(x.select(0, rows.clone())),
        }
    }

    /// Number of batch rows.
    pub fn batch_size(&self) -> usize {
        match self {
            State::Scales(xs) => xs[0].dims()[0],
            State::Tokens(x) => x.dims()[0],
        }
    }

    /// Several states `[B_i, …]` of one architecture at one boundary as one `[Σ B_i, …]`,
    /// rows in order (no copy for one state).
    ///
    /// # Panics
    /// When `states` is empty or mixes architectures.
    pub fn concat(mut states: Vec<State>) -> State {
        assert!(!states.is_empty(), "nothing to concatenate");
        if states.len() == 1 {
            return states.pop().expect("one state");
        }
        let tokens = matches!(states[0], State::Tokens(_));
        if tokens {
            let xs = states
                .into_iter()
                .map(|s| match s {
                    State::Tokens(x) => x,
                    State::Scales(_) => panic!("mixed architectures"),
                })
                .collect();
            return State::Tokens(Tensor::cat(xs, 0));
        }
        let mut scales: Vec<Vec<Tensor<4>>> = Vec::new();
        for state in states {
            let State::Scales(xs) = state else {
                panic!("mixed architectures")
            };
            scales.resize_with(xs.len(), Vec::new);
            for (s, x) in xs.into_iter().enumerate() {
                scales[s].push(x);
            }
        }
        State::Scales(scales.into_iter().map(|xs| Tensor::cat(xs, 0)).collect())
    }

    /// The first `k` rows and the other `B − k` (0 < k < B), as views (`narrow`, no copy).
    pub fn split(self, k: usize) -> (State, State) {
        let rows = self.batch_size();
        match self {
            State::Scales(xs) => {
                let head = xs.iter().map(|x| x.clone().narrow(0, 0, k)).collect();
                let tail = xs.into_iter().map(|x| x.narrow(0, k, rows - k)).collect();
                (State::Scales(head), State::Scales(tail))
            }
            State::Tokens(x) => (
                State::Tokens(x.clone().narrow(0, 0, k)),
                State::Tokens(x.narrow(0, k, rows - k)),
            ),
        }
    }
}

/// A multi-exit network and its configuration.
#[derive(Debug, Clone)]
pub struct Model {
    config: ArchConfig,
    network: Network,
}

impl Model {
    /// A freshly initialised model; weights come from `device`'s generator, seeded with `seed`.
    ///
    /// # Errors
    /// [`NnError::Invalid`](crate::NnError::Invalid) when the configuration is invalid.
    pub fn new(config: ArchConfig, seed: u64, device: &Device) -> Result<Model> {
        config.validate()?;
        device.seed(seed);
        let network = match &config {
            ArchConfig::Msdnet(c) => Network::MsdNet(c.init(device)),
            ArchConfig::Vit(c) => Network::Vit(c.init(device)),
        };
        Ok(Model { config, network })
    }

    /// Assemble a model from parts that are known to agree (used by loading and training).
    pub(crate) fn from_parts(config: ArchConfig, network: Network) -> Model {
        Model { config, network }
    }

    /// The configuration.
    pub fn config(&self) -> &ArchConfig {
        &self.config
    }

    /// The network (for generic code over [`MultiExit`]).
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// Consume into the network.
    pub fn into_network(self) -> Network {
        self.network
    }

    /// Number of exits.
    pub fn exits(&self) -> usize {
        self.config.exits()
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.config.classes()
    }

    /// Cumulative FLOPs per image of each exit, heads included (docs/design.md §3).
    pub fn flops_per_exit(&self) -> Vec<f64> {
        self.config.flops_per_exit()
    }

    /// The same model for inference: no autodiff, BatchNorm in eval mode.
    pub fn valid(&self) -> Model {
        let network = match &self.network {
            Network::MsdNet(n) => Network::MsdNet(n.valid()),
            Network::Vit(n) => Network::Vit(n.valid()),
        };
        Model {
            config: self.config.clone(),
            network,
        }
    }

    /// The model prepared for inference: [`Model::valid`], and for MSDNet every BatchNorm
    /// folded into its convolution ([`MsdNet::fold_batch_norm`]) — the same function (up to
    /// float rounding) with one pass less over each activation. What the runtime and
    /// `pcee logits` run; never train or save the result (its parameters differ from the card's).
    pub fn for_inference(&self) -> Model {
        let network = match &self.network {
            Network::MsdNet(n) => Network::MsdNet(n.fold_batch_norm()),
            Network::Vit(n) => Network::Vit(n.valid()),
        };
        Model {
            config: self.config.clone(),
            network,
        }
    }

    /// Move the model to `device`.
    pub fn to_device(self, device: &Device) -> Model {
        let network = match self.network {
            Network::MsdNet(n) => Network::MsdNet(n.to_device(device)),
            Network::Vit(n) => Network::Vit(n.to_device(device)),
        };
        Model {
            config: self.config,
            network,
        }
    }

    /// Stem / embedding: images `[B, 1, 28, 28]` (normalised, see [`crate::data`]) → state.
    pub fn embed(&self, images: Tensor<4>) -> State {
        match &self.network {
            Network::MsdNet(n) => State::Scales(n.embed(images)),
            Network::Vit(n) => State::Tokens(n.embed(images)),
        }
    }

    /// Stage `s` (`s < exits()`). Panics if the state is of the other architecture.
    pub fn stage(&self, s: usize, state: State) -> State {
        match (&self.network, state) {
            (Network::MsdNet(n), State::Scales(x)) => State::Scales(n.stage(s, x)),
            (Network::Vit(n), State::Tokens(x)) => State::Tokens(n.stage(s, x)),
            _ => panic!("state of another architecture passed to Model::stage"),
        }
    }

    /// Logits `[B, classes]` of exit `e` from the state after stage `e`.
    pub fn exit_head(&self, e: usize, state: &State) -> Tensor<2> {
        match (&self.network, state) {
            (Network::MsdNet(n), State::Scales(x)) => n.exit_head(e, x),
            (Network::Vit(n), State::Tokens(x)) => n.exit_head(e, x),
            _ => panic!("state of another architecture passed to Model::exit_head"),
        }
    }

    /// Every exit's logits `[B, classes]`, in network order.
    pub fn forward_all(&self, images: Tensor<4>) -> Vec<Tensor<2>> {
        match &self.network {
            Network::MsdNet(n) => n.forward_all(images),
            Network::Vit(n) => n.forward_all(images),
        }
    }
}
