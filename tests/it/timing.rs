//! `quorate whatif --timeline` (issue 15): the JSON contract of each step's `timeline`, its
//! event names and times for a known configuration computed by hand from the spec (3.4-3.5,
//! 6.6), and that the JSON without `--timeline` carries no timeline (its snapshots stay).
//! Those tests must not assert wall-clock time; `reality` holds the same times against real
//! corosync on the lab, within its stated tolerance.

mod reality;

use crate::support::quorate;
use serde_json::Value;

const THREE: &str = "totem {\n  version: 2\n  cluster_name: t\n}\nnodelist {\n  node {\n    nodeid: 1\n    \
                     ring0_addr: 198.18.0.1\n  }\n  node {\n    nodeid: 2\n    ring0_addr: 198.18.0.2\n  }\n  \
                     node {\n    nodeid: 3\n    ring0_addr: 198.18.0.3\n  }\n}\nquorum {\n  provider: corosync_votequorum\n}\n";

fn whatif_json(args: &[&str]) -> Value {
    let path = std::env::temp_dir().join(format!("quorate-timing-{}.conf", std::process::id()));
    std::fs::write(&path, THREE).unwrap();
    let path_text = path.to_string_lossy().into_owned();
    let mut all = vec!["whatif", path_text.as_str(), "--format", "json"];
    all.extend_from_slice(args);
    let (code, out, err) = quorate(&all);
    let _ = std::fs::remove_file(&path);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn timeline_json_contract_and_hand_computed_times() {
    let plain = whatif_json(&["-s", "isolate 3"]);
    assert!(plain.get("timers").is_none());
    assert!(plain["steps"]
        .as_array()
        .unwrap()
        .iter()
        .all(|step| step.get("timeline").is_none()));

    let value = whatif_json(&["-s", "isolate 3", "--timeline", "--proxmox"]);
    // token 3000 + (3 − 2) × 650 = 3650; consensus (int)(1.2 × 3650) = 4380.
    assert_eq!(value["timers"]["token_ms"], 3650);
    assert_eq!(value["timers"]["consensus_ms"], 4380);
    // hold (int)((int)(3650 / 4.2) · 0.8 − 10) = 685: the token-timed events reach back one
    // idle token rotation (measured on the lab, `reality`).
    assert_eq!(value["timers"]["hold_ms"], 685);
    let membership = &value["steps"][1]["timeline"][3];
    assert_eq!(membership["event"], "membership");
    assert_eq!(
        (
            membership["earliest_ms"].as_u64(),
            membership["latest_ms"].as_u64()
        ),
        (Some(7345), Some(8030))
    );
    assert_eq!(value["steps"][0]["timeline"], Value::Array(Vec::new()));
    let events: Vec<(u64, String, u64)> = value["steps"][1]["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| {
            for key in [
                "node",
                "event",
                "at_ms",
                "earliest_ms",
                "latest_ms",
                "estimate",
                "assumes",
                "basis",
            ] {
                assert!(event.get(key).is_some(), "{key} missing in {event}");
            }
            (
                event["node"].as_u64().unwrap(),
                event["event"].as_str().unwrap().to_string(),
                event["at_ms"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(u64, String, u64)> = [
        (1, "failure_detected", 3650),
        (2, "failure_detected", 3650),
        (3, "failure_detected", 3650),
        (1, "membership", 8030),
        (1, "quorum", 8030),
        (2, "membership", 8030),
        (2, "quorum", 8030),
        (3, "membership", 8030),
        (3, "quorum", 8030),
        (3, "pve_readonly", 8030),
        (3, "self_fence", 60_000),
        (3, "ha_recovery", 120_000),
    ]
    .into_iter()
    .map(|(node, event, at)| (node, event.to_string(), at))
    .collect();
    assert_eq!(events, expected);
    let fence = &value["steps"][1]["timeline"][10];
    assert_eq!(
        (fence["earliest_ms"].as_u64(), fence["latest_ms"].as_u64()),
        (Some(50_000), Some(70_000))
    );
}
