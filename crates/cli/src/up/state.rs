//! What `msa up` tells: the banner of what runs where, and `<data>/<system>/supervisor.json`,
//! the state `msa status` reads.

use super::{ALL, Process, UpOptions};
use crate::{control, systems};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::SystemTime;
use tokio::process::Child;

pub(super) fn report(processes: &[Process], health: &[&str], options: &UpOptions) {
    println!();
    println!("{:<24} {:<28} {:<8} LOG", "SERVICE", "URL", "HEALTH");
    for (process, health) in processes.iter().zip(health) {
        println!(
            "{:<24} {:<28} {:<8} {}",
            process.label,
            process.public_url().unwrap_or_default(),
            health,
            process.log().display()
        );
    }
    println!();
    let gateways: Vec<&Process> = processes
        .iter()
        .filter(|p| p.service == "gateway")
        .collect();
    for gateway in &gateways {
        let url = gateway.public_url().unwrap_or_default();
        println!("{:<10} open {url}/ ; API at {url}/api/...", gateway.system);
    }
    if options.system == ALL
        && let Some(first) = gateways.first().and_then(|g| g.public_url())
    {
        println!("every system: {first}/systems");
    }
    println!("Ctrl-C stops everything");
}

/// Writes what the supervisor knows of each system's processes to
/// `<data>/<system>/supervisor.json`, which `msa status` reads: labels, addresses, restarts and
/// why.
pub(super) fn write_state(processes: &[Process], options: &UpOptions) {
    let mut systems: HashMap<&str, Vec<serde_json::Value>> = HashMap::new();
    for process in processes {
        let last = process.last_restart.as_ref().map(|(reason, at)| {
            serde_json::json!({
                "reason": reason,
                "at": at.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs()),
            })
        });
        systems
            .entry(&process.system)
            .or_default()
            .push(serde_json::json!({
                "label": process.label,
                "service": process.service,
                "pid": process.child.as_ref().and_then(Child::id),
                "url": process.url(),
                "restarts": process.restarts,
                "last_restart": last,
            }));
    }
    for (system, processes) in systems {
        let path = PathBuf::from(systems::system_data(&options.data, system)).join(control::STATE);
        let state = serde_json::json!({
            "supervisor": std::process::id(),
            "processes": processes,
        });
        let partial = path.with_extension("partial");
        let written = std::fs::write(&partial, state.to_string())
            .and_then(|()| std::fs::rename(&partial, &path));
        if let Err(error) = written {
            eprintln!("cannot write {}: {error}", path.display());
        }
    }
}
