//! `pcee monitor --replicas A,B,… --model NAME [--state FILE]`: the fleet's monitor
//! ([`pcee_serve::fleet`]): fetch every replica's counts, sum them per policy, test the sums,
//! print the alarms; the state between runs in `--state`.

use super::monitor::Args;
use crate::inputs;
use crate::output::{percent, Table};
use anyhow::{anyhow, bail, Context};
use pcee::monitor::MonitorConfig;
use pcee_serve::fleet::{get, FleetPolicy, FleetState};

/// Runs the fleet's monitor once.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let replicas: Vec<&str> = args
        .replicas
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .collect();
    if replicas.is_empty() {
        bail!("--replicas: expected host:port addresses separated by commas");
    }
    let model = args
        .model
        .as_deref()
        .ok_or_else(|| anyhow!("--model: expected the replicas' model name (pcee serve --name)"))?;
    let config = MonitorConfig {
        window: inputs::at_least_one("--window", args.window)? as usize,
        alpha: inputs::alpha("--alpha", args.alpha)?,
        ..super::monitor::drift_config(args)?
    };
    let mut state = read_state(args)?;
    let path = format!("/v2/models/{model}/monitor/counts");
    let mut reached = 0;
    for replica in &replicas {
        match get(replica, &path) {
            Ok((200, body)) => {
                state
                    .take(&body)
                    .map_err(|err| anyhow!("--replicas: {replica}: {err}"))?;
                reached += 1;
            }
            Ok((status, body)) => bail!(
                "--replicas: {replica}{path}: status {status}: {}",
                String::from_utf8_lossy(&body).trim()
            ),
            Err(err) => eprintln!("warning: --replicas: {err}; its last counts are kept"),
        }
    }
    if reached == 0 {
        bail!("--replicas: no replica answered; nothing was tested and --state is unchanged");
    }
    let views = state.evaluate(&config).map_err(|err| match &args.state {
        Some(path) => anyhow!("--state {}: {err}", path.display()),
        None => anyhow!("--replicas: {err}"),
    })?;
    write_state(args, &state)?;
    print(args, reached, replicas.len(), &views)
}

fn read_state(args: &Args) -> anyhow::Result<FleetState> {
    match &args.state {
        Some(path) if path.exists() => {
            let text =
                std::fs::read(path).with_context(|| format!("--state: {}", path.display()))?;
            serde_json::from_slice(&text).map_err(|err| {
                anyhow!(
                    "--state: {}: {err}; expected a state file this command wrote",
                    path.display()
                )
            })
        }
        _ => Ok(FleetState::default()),
    }
}

/// Writes the state to a temporary file beside `--state`, then renames it into place.
fn write_state(args: &Args, state: &FleetState) -> anyhow::Result<()> {
    let Some(path) = &args.state else {
        return Ok(());
    };
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec(state)?)
        .and_then(|()| std::fs::rename(&tmp, path))
        .with_context(|| format!("--state: {}", path.display()))
}

fn print(args: &Args, reached: usize, asked: usize, views: &[FleetPolicy]) -> anyhow::Result<()> {
    if args.json {
        let out =
            serde_json::json!({"replicas_reached": reached, "replicas": asked, "policies": views});
        println!("{out}");
        return Ok(());
    }
    println!("{reached} of {asked} replicas answered");
    for v in views {
        println!(
            "policy {} (δ {}): {} decisions, {} labels",
            v.digest,
            v.delta,
            v.counts.decided,
            v.counts.labelled()
        );
        let mut table = Table::new(&["exit", "exited", "labelled", "accuracy"]);
        for (l, e) in v.counts.exits.iter().enumerate() {
            let accuracy = (e.labelled > 0).then(|| e.correct as f64 / e.labelled as f64);
            table.row(vec![
                l.to_string(),
                e.exited.to_string(),
                e.labelled.to_string(),
                accuracy.map_or("-".into(), percent),
            ]);
        }
        println!("{}", table.render());
        let new_from = v.alarms.len() - v.new_alarms;
        for (i, a) in v.alarms.iter().enumerate() {
            println!(
                "alarm at {} labels: exit {}, block accuracy {:.3}, upper bound {:.3} < δ {}{}",
                a.labelled,
                a.exit,
                a.accuracy,
                a.upper_bound,
                a.delta,
                if i >= new_from { " (new)" } else { "" }
            );
        }
        if v.alarms.is_empty() {
            println!("no alarm");
        }
        let new_from = v.drift_alarms.len() - v.new_drift_alarms;
        for (i, a) in v.drift_alarms.iter().enumerate() {
            println!(
                "drift alarm at {} decisions: exit 0's confidences over {} decisions unlike validation's, p {:.2e} < {:.2e}{}",
                a.decided,
                a.block,
                a.test.p_value,
                a.level,
                if i >= new_from { " (new)" } else { "" }
            );
        }
    }
    Ok(())
}
