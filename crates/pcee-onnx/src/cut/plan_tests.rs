//! Invariants of [`plan`] on random graphs: every node some exit needs is owned by exactly one
//! part, and copied elsewhere only when its output has no batch axis; every value a part
//! reads is computed in it, is a network input or an initializer, or arrives in the state
//! before it; the state after stage `k` holds only values of stages `0..=k`; head `k` ends in
//! exit `k`.

use super::*;
use crate::proto::{NodeProto, TensorProto, ValueInfoProto};
use proptest::prelude::*;

/// A graph of `reads.len()` nodes; node `i` writes `v{i}` and reads the values `reads[i]`
/// indexes among `x`, `w` and `v0 … v{i−1}` (index 0 is `x`, 1 is `w`, `j + 2` is `v{j}`).
fn graph(reads: &[Vec<usize>]) -> GraphProto {
    let name = |j: usize| match j {
        0 => "x".to_string(),
        1 => "w".to_string(),
        j => format!("v{}", j - 2),
    };
    GraphProto {
        input: vec![ValueInfoProto {
            name: Some("x".into()),
            ..Default::default()
        }],
        initializer: vec![TensorProto {
            name: Some("w".into()),
            ..Default::default()
        }],
        node: reads
            .iter()
            .enumerate()
            .map(|(i, r)| NodeProto {
                op_type: Some("Op".into()),
                input: r.iter().map(|&j| name(j % (i + 2))).collect(),
                output: vec![format!("v{i}")],
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

/// Values computed from the initializer alone have no batch axis.
fn constants(g: &GraphProto) -> HashSet<String> {
    let mut out: HashSet<String> = HashSet::from(["w".to_string()]);
    for n in &g.node {
        if n.input.iter().all(|i| out.contains(i)) {
            out.insert(n.output[0].clone());
        }
    }
    out
}

fn check(g: &GraphProto, plan: &Plan, constant: &HashSet<String>) {
    let producer: HashMap<&str, usize> = g
        .node
        .iter()
        .enumerate()
        .map(|(i, n)| (n.output[0].as_str(), i))
        .collect();
    for (n, node) in g.node.iter().enumerate() {
        let holders: Vec<usize> = (0..plan.parts.len())
            .filter(|&p| plan.parts[p].nodes.contains(&n))
            .collect();
        match plan.owner(n) {
            None => assert!(holders.is_empty() && plan.dead.contains(&n)),
            Some(p) => {
                assert!(holders.contains(&p));
                if holders.len() > 1 {
                    assert!(
                        constant.contains(&node.output[0]),
                        "only constants are copied"
                    );
                }
            }
        }
    }
    for (p, part) in plan.parts.iter().enumerate() {
        for &n in &part.nodes {
            for r in &g.node[n].input {
                let inside = producer
                    .get(r.as_str())
                    .is_some_and(|q| part.nodes.contains(q));
                let outside = part.inputs.contains(r)
                    || part.initializers.contains(r)
                    || part.state.contains(r);
                assert!(inside || outside, "part {p} reads {r} from nowhere");
            }
        }
        let k = p / 2;
        let before: &[String] = match (p % 2, k) {
            (0, 0) => &[],
            (0, k) => &plan.after[k - 1],
            _ => &plan.after[k],
        };
        for v in &part.state {
            assert!(
                before.contains(v),
                "part {p} reads {v}, not in the state before it"
            );
        }
        if p % 2 == 1 {
            let exit = &plan.exits[k];
            let made = part.nodes.iter().any(|&n| &g.node[n].output[0] == exit);
            assert!(
                made || part.state.contains(exit),
                "head {k} ends in its exit"
            );
        }
    }
    for (k, state) in plan.after.iter().enumerate() {
        for v in state {
            let owner = plan.owner(producer[v.as_str()]).unwrap();
            assert!(
                owner.is_multiple_of(2) && owner / 2 <= k,
                "{v} after stage {k} from part {owner}"
            );
            assert!(!constant.contains(v), "a constant is never state");
        }
    }
}

proptest! {
    #[test]
    fn every_needed_node_runs_once_and_every_read_is_served(
        reads in prop::collection::vec(prop::collection::vec(0usize..40, 1..3), 4..30),
        picks in prop::collection::btree_set(0usize..30, 2..5),
    ) {
        let g = graph(&reads);
        let constant = constants(&g);
        // Exits are logits: batched values.
        let exits: Vec<String> = picks
            .iter()
            .filter(|&&i| i < reads.len())
            .map(|i| format!("v{i}"))
            .filter(|v| !constant.contains(v))
            .collect();
        prop_assume!(exits.len() >= 2);
        let axis = |v: &str| if constant.contains(v) { Axis::None } else { Axis::Batch };
        // About 3 in 4 random graphs cut (measured: 185 of 256); the others are refused
        // because a later exit's network does not continue an earlier one's.
        if let Ok(plan) = plan(&g, &exits, &axis) {
            check(&g, &plan, &constant);
        }
    }
}
