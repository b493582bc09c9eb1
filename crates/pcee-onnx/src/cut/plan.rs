//! The cut of one multi-exit graph into stages and heads (docs/stages.md §2–3), on the
//! protobuf alone: no ONNX Runtime, so it is unit-tested on hand-made graphs.
//!
//! With `L` exits (graph outputs `exit_0 … exit_{L−1}` in network order), a node goes to the
//! first exit that needs it — segment `k` — and, within segment `k < L − 1`, to **stage k**
//! when a later exit needs it too and to **head k** otherwise; the last segment is all stage
//! `L − 1`, and its head only renames `exit_{L−1}`. Nodes no exit needs are dropped. Every
//! kept node lands in exactly one part, except nodes that compute a value without a batch axis
//! (a shape, a constant) read in a later part: those are computed again there (`copied`), since
//! such a value cannot travel with the rows that go on (after rows leave, a batch size read
//! from a shape would be wrong).

use super::model::reads;
use crate::proto::GraphProto;
use std::collections::{HashMap, HashSet};

/// What [`plan`] needs to know of a value crossing from one part to a later one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    /// Its first axis is the batch: it travels with the rows, as state.
    Batch,
    /// No batch axis (a shape, a constant, a scalar): computed again where it is read.
    None,
}

/// One graph of the cut: stage `k` or head `k`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Stage `k`.
    Stage(usize),
    /// Head `k`.
    Head(usize),
}

/// The nodes and values of one part.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PartPlan {
    /// Indices (into the graph's nodes, ascending, so in topological order) of the nodes the
    /// part runs: its own and the ones it computes again.
    pub nodes: Vec<usize>,
    /// How many of `nodes` are computed again here (values without a batch axis).
    pub copied: usize,
    /// The network inputs it reads.
    pub inputs: Vec<String>,
    /// The initializers it reads.
    pub initializers: Vec<String>,
    /// The values it reads from the state before it (stage `k`: the state after stage
    /// `k − 1`; head `k`: after stage `k`), by their names in the graph.
    pub state: Vec<String>,
}

/// The cut: `parts[2k]` is stage `k`, `parts[2k + 1]` head `k`; `after[k]` is the state after
/// stage `k` (stage `k`'s outputs): the batched values computed by stages `0..=k` that head `k`
/// or a later part reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The exits' output names, in network order.
    pub exits: Vec<String>,
    /// Stage 0, head 0, stage 1, head 1, …
    pub parts: Vec<PartPlan>,
    /// The state after each stage, `[exits]`.
    pub after: Vec<Vec<String>>,
    /// The nodes no exit needs (dropped), by index.
    pub dead: Vec<usize>,
    /// The part owning each node ([`index`]); `None` for a dropped node.
    owner: Vec<Option<usize>>,
}

impl Plan {
    /// The part (its position in [`Plan::parts`]) that owns node `n`: the one it was assigned
    /// to, not one computing it again. `None` for a dropped node.
    pub fn owner(&self, n: usize) -> Option<usize> {
        self.owner[n]
    }
}

/// Why a graph cannot be cut: the value or node at fault and what is wrong; the caller adds
/// the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CutError {
    /// The output, node or value concerned (`exit "e1"`, `node "Conv_3"`).
    pub what: String,
    /// What is wrong and what was expected.
    pub reason: String,
}

fn refuse<T>(what: impl Into<String>, reason: impl Into<String>) -> Result<T, CutError> {
    Err(CutError {
        what: what.into(),
        reason: reason.into(),
    })
}

/// Cuts `graph` at `exits` (module documentation). `axis(v)` says whether a value produced in
/// one part and read in a later one has a batch axis.
///
/// # Errors
/// A node reading a value not produced before it (the graph is not in topological order),
/// fewer than two exits, an exit that is not a node output or is named twice, an exit computed
/// by earlier exits' nodes only, a stage that reads nothing of the state before it.
pub fn plan(
    graph: &GraphProto,
    exits: &[String],
    axis: &dyn Fn(&str) -> Axis,
) -> Result<Plan, CutError> {
    let producer = producers(graph)?;
    check_exits(exits, &producer)?;
    let part = assign(graph, exits, &producer)?;
    let constants: HashSet<&str> = constants(graph);
    let inputs: HashSet<&str> = graph
        .input
        .iter()
        .filter_map(|v| v.name.as_deref())
        .filter(|n| !constants.contains(n))
        .collect();
    let mut parts = Vec::with_capacity(2 * exits.len());
    for p in 0..2 * exits.len() {
        let own: Vec<usize> = (0..graph.node.len())
            .filter(|&n| part[n].map(index) == Some(p))
            .collect();
        let mut plan = gather(graph, own, &producer, &inputs, &constants, axis)?;
        if p % 2 == 1 {
            let exit = &exits[p / 2];
            let produced_here = plan
                .nodes
                .iter()
                .any(|&n| graph.node[n].output.contains(exit));
            if !produced_here && !plan.state.contains(exit) {
                plan.state.push(exit.clone());
            }
        }
        parts.push(plan);
    }
    let after = state_after(graph, &parts, &part, &producer, exits.len())?;
    let dead = (0..part.len()).filter(|&n| part[n].is_none()).collect();
    Ok(Plan {
        exits: exits.to_vec(),
        parts,
        after,
        dead,
        owner: part.iter().map(|p| p.map(index)).collect(),
    })
}

/// The position of a part in [`Plan::parts`].
pub fn index(part: Part) -> usize {
    match part {
        Part::Stage(k) => 2 * k,
        Part::Head(k) => 2 * k + 1,
    }
}

/// The initializer names (dense and sparse).
fn constants(graph: &GraphProto) -> HashSet<&str> {
    graph
        .initializer
        .iter()
        .filter_map(|t| t.name.as_deref())
        .chain(
            graph
                .sparse_initializer
                .iter()
                .filter_map(|s| s.values.as_ref().and_then(|v| v.name.as_deref())),
        )
        .collect()
}

/// The node writing each value, checking that every node reads only values defined before it.
fn producers(graph: &GraphProto) -> Result<HashMap<&str, usize>, CutError> {
    let mut defined: HashSet<&str> = graph
        .input
        .iter()
        .filter_map(|v| v.name.as_deref())
        .collect();
    defined.extend(constants(graph));
    let mut producer = HashMap::new();
    for (n, node) in graph.node.iter().enumerate() {
        if let Some(read) = reads(node)
            .into_iter()
            .find(|r| !defined.contains(r.as_str()))
        {
            return refuse(
                node_name(graph, n),
                format!("reads {read:?}, which no input, initializer or earlier node defines; expected the nodes in topological order, as ONNX requires"),
            );
        }
        for out in node.output.iter().filter(|o| !o.is_empty()) {
            defined.insert(out);
            producer.insert(out.as_str(), n);
        }
    }
    Ok(producer)
}

/// A node as errors name it.
pub fn node_name(graph: &GraphProto, n: usize) -> String {
    let node = &graph.node[n];
    match node.name.as_deref().filter(|s| !s.is_empty()) {
        Some(name) => format!("node {name:?} ({})", node.op_type.as_deref().unwrap_or("?")),
        None => format!(
            "node {n} ({}, writing {:?})",
            node.op_type.as_deref().unwrap_or("?"),
            node.output.first().map(String::as_str).unwrap_or("")
        ),
    }
}

fn check_exits(exits: &[String], producer: &HashMap<&str, usize>) -> Result<(), CutError> {
    if exits.len() < 2 {
        return refuse(
            format!("exits {exits:?}"),
            "fewer than two; expected the logits of every exit in network order (the graph's outputs, or --exits)",
        );
    }
    for (k, exit) in exits.iter().enumerate() {
        if exits[..k].contains(exit) {
            return refuse(
                format!("exit {exit:?}"),
                "named twice; expected each exit once",
            );
        }
        if !producer.contains_key(exit.as_str()) {
            return refuse(
                format!("exit {exit:?}"),
                "no node of the graph writes it; expected the name of a node output (the exit's logits)",
            );
        }
    }
    Ok(())
}

/// The part of every node (`None`: dead code).
fn assign(
    graph: &GraphProto,
    exits: &[String],
    producer: &HashMap<&str, usize>,
) -> Result<Vec<Option<Part>>, CutError> {
    let (mut first, mut last) = (
        vec![None::<usize>; graph.node.len()],
        vec![0; graph.node.len()],
    );
    for (k, exit) in exits.iter().enumerate() {
        for n in ancestors(graph, producer[exit.as_str()], producer) {
            first[n].get_or_insert(k);
            last[n] = k;
        }
    }
    let l = exits.len();
    let part: Vec<Option<Part>> = first
        .iter()
        .zip(&last)
        .map(|(f, &last)| {
            f.map(|k| {
                if k == l - 1 || last > k {
                    Part::Stage(k)
                } else {
                    Part::Head(k)
                }
            })
        })
        .collect();
    for (k, exit) in exits.iter().enumerate().skip(1) {
        if !first.contains(&Some(k)) {
            return refuse(
                format!("exit {exit:?}"),
                format!("computed by the nodes of the exits before it alone; expected nodes of its own after exit {:?} (nothing to cut)", exits[k - 1]),
            );
        }
    }
    Ok(part)
}

/// `start` and every node it depends on.
fn ancestors(graph: &GraphProto, start: usize, producer: &HashMap<&str, usize>) -> Vec<usize> {
    let mut seen = vec![false; graph.node.len()];
    let mut stack = vec![start];
    while let Some(n) = stack.pop() {
        if std::mem::replace(&mut seen[n], true) {
            continue;
        }
        stack.extend(
            reads(&graph.node[n])
                .iter()
                .filter_map(|r| producer.get(r.as_str())),
        );
    }
    (0..graph.node.len()).filter(|&n| seen[n]).collect()
}

/// A part's nodes (`own` plus the ones without a batch axis it computes again) and the values
/// it reads from outside.
fn gather(
    graph: &GraphProto,
    own: Vec<usize>,
    producer: &HashMap<&str, usize>,
    inputs: &HashSet<&str>,
    constants: &HashSet<&str>,
    axis: &dyn Fn(&str) -> Axis,
) -> Result<PartPlan, CutError> {
    let mut nodes: HashSet<usize> = own.iter().copied().collect();
    let mut plan = PartPlan::default();
    let mut todo = own.clone();
    let mut copied = 0;
    while let Some(n) = todo.pop() {
        for read in reads(&graph.node[n]) {
            let push = |list: &mut Vec<String>| {
                if !list.contains(&read) {
                    list.push(read.clone());
                }
            };
            match producer.get(read.as_str()) {
                Some(p) if nodes.contains(p) => {}
                Some(&p) => match axis(&read) {
                    Axis::Batch => push(&mut plan.state),
                    Axis::None => {
                        nodes.insert(p);
                        todo.push(p);
                        copied += 1;
                    }
                },
                None if constants.contains(read.as_str()) => push(&mut plan.initializers),
                None if inputs.contains(read.as_str()) => push(&mut plan.inputs),
                None => unreachable!("producers() checked every read"),
            }
        }
    }
    let mut nodes: Vec<usize> = nodes.into_iter().collect();
    nodes.sort_unstable();
    // A value read as state that a node of the part computes again is not state.
    plan.state
        .retain(|v| !nodes.contains(&producer[v.as_str()]));
    plan.nodes = nodes;
    plan.copied = copied;
    Ok(plan)
}

/// The state after each stage (the [`Plan::after`] rule), and the check that every stage
/// after the first reads some of it.
fn state_after(
    graph: &GraphProto,
    parts: &[PartPlan],
    part: &[Option<Part>],
    producer: &HashMap<&str, usize>,
    exits: usize,
) -> Result<Vec<Vec<String>>, CutError> {
    let mut after = Vec::with_capacity(exits);
    for k in 0..exits {
        let mut state: Vec<String> = Vec::new();
        for later in &parts[2 * k + 1..] {
            for v in &later.state {
                let n = producer[v.as_str()];
                let from_stage = matches!(part[n], Some(Part::Stage(j)) if j <= k);
                if from_stage && !state.contains(v) {
                    state.push(v.clone());
                } else if !matches!(part[n], Some(Part::Stage(_))) {
                    return refuse(
                        node_name(graph, n),
                        format!("its output {v:?} is read by a later exit's graph, but the node belongs to an exit head; expected heads to feed their own exit only"),
                    );
                }
            }
        }
        after.push(state);
    }
    for k in 1..exits {
        if !parts[2 * k].state.iter().any(|v| after[k - 1].contains(v))
            && !after[k].iter().any(|v| after[k - 1].contains(v))
        {
            return refuse(
                format!("stage {k}"),
                "reads nothing computed by the stages before it; expected each exit's network to continue the one before (a chain of stages)",
            );
        }
    }
    Ok(after)
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
