//! `quorate report`: one self-contained design-review page (or JSON) for a corosync.conf.
//!
//! Owns gathering (each section is the JSON of an existing command, run in-process: `show`
//! for the topology, `lint` for the findings, `whatif --all` for the failure matrix and
//! `whatif -s` for its smallest failures, `whatif -s --timeline` per scenario; the model check is `sim::check`, run in-process
//! under a size and time guard, its counterexamples replayed through `whatif -s`) and hands
//! the data to [`html`], [`svg`] and [`timeline`]. It must not decide anything itself:
//! there is no second engine here, only the existing commands' output.

pub mod exact;
pub mod html;
pub mod layout;
pub mod svg;
pub mod timeline;

use serde::Serialize;
use serde_json::Value;
use std::time::{Duration, Instant};

/// The model check runs on clusters of at most this many nodes: beyond, `quorate check`
/// takes minutes to hours (its state space grows with every node), too long for a page.
pub const CHECK_MAX_NODES: usize = 5;
/// The model check stops after this long; the page then says so and which verdicts are
/// final.
pub const CHECK_TIME_LIMIT: Duration = Duration::from_secs(30);

/// One node of the topology, read from the cmap `show` computes.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TopologyNode {
    /// `name` (or `ring0_addr` when there is no name).
    pub name: String,
    /// `nodeid`, when set.
    pub nodeid: Option<u32>,
    /// `quorum_votes` (1 when unset).
    pub votes: u32,
    /// `(link number, address)` for every `ringX_addr`.
    pub addresses: Vec<(u32, String)>,
}

/// Nodes, links and the quorum device host of the configuration.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Topology {
    /// The nodelist, in file order.
    pub nodes: Vec<TopologyNode>,
    /// Every link number any node has an address on, ascending.
    pub links: Vec<u32>,
    /// `quorum.device.net.host`, when a qdevice is configured.
    pub qnetd_host: Option<String>,
    /// `quorum.device.model`, when a qdevice is configured.
    pub device_model: Option<String>,
}

/// A section that could not be produced: the command's own message, never a guess.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Refusal {
    /// The command line that was run.
    pub command: String,
    /// Its exit code.
    pub exit_code: u8,
    /// What it wrote on stderr.
    pub reason: String,
}

/// The output of one in-process command: its JSON, or why there is none.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    /// The command printed JSON (read by [`exact::parse`]: integers beyond 64 bits are
    /// kept exact, and written back as the command printed them).
    Data(#[serde(serialize_with = "exact::serialize")] Value),
    /// The command refused or failed.
    Refused(Refusal),
}

/// At most this many of the smallest total losses are replayed as examples (the vote-sum
/// method lists up to 256 representatives; the page names how many more there are).
pub const MAX_LOSS_EXAMPLES: usize = 8;

/// What a failure example shows.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ExampleKind {
    /// One of the smallest down sets after which no node is quorate.
    TotalLoss,
    /// `whatif --all`'s split-brain witness (the smallest split-brain scenario).
    SplitBrain,
}

/// One of the smallest failures of the failure matrix, replayed so that the page can show
/// its membership picture.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FailureExample {
    /// What it shows.
    pub kind: ExampleKind,
    /// The failure in words (from `whatif --all`'s JSON).
    pub title: String,
    /// The whatif script that replays it from the fully started cluster.
    pub script: String,
    /// For a total loss: how many nodes are down (the grid row it belongs to).
    pub nodes_down: Option<usize>,
    /// `whatif FILE -s SCRIPT --format json`.
    pub whatif: Section,
    /// For a split-brain: the grid cell whose witness it is (`None`: `whatif --all`'s
    /// overall witness, when no cell shown names the same script).
    pub cell: Option<ExampleCell>,
    /// For a split-brain: the quorate memberships at the end of the replay, as
    /// `whatif --all` gives them (node ids); empty for a total loss.
    pub quorate_sides: Vec<Vec<u64>>,
}

/// A cell of the failure grid as the page draws it: a row, a column (named by the first of
/// its link sets) and the case.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ExampleCell {
    /// The row: how many nodes are down.
    pub nodes_down: u64,
    /// The failed links of the cell (the first link set of its column), ascending.
    pub failed_links: Vec<u64>,
    /// `running` or `cold-start`.
    pub case: String,
}

/// The columns of `whatif --all`'s grid as the page draws them: link sets whose cells are
/// all equal (classes and counts in every row) share a column; each column lists its link
/// sets in the grid's order (the first names the column's cells). Empty without a grid.
pub fn grid_columns(matrix: &Value) -> Vec<Vec<Vec<u64>>> {
    let Some(cells) = matrix.get("grid").and_then(Value::as_array) else {
        return Vec::new();
    };
    let links_of = |cell: &Value| -> Vec<u64> {
        cell.get("failed_links")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_u64)
            .collect()
    };
    // Per link set, in order: the classes of each of its cells, by row.
    let mut signatures: Vec<(Vec<u64>, std::collections::BTreeMap<u64, String>)> = Vec::new();
    let mut position: std::collections::HashMap<Vec<u64>, usize> = std::collections::HashMap::new();
    for cell in cells {
        let links = links_of(cell);
        let index = *position.entry(links.clone()).or_insert_with(|| {
            signatures.push((links, std::collections::BTreeMap::new()));
            signatures.len() - 1
        });
        if let Some(row) = cell.get("nodes_down").and_then(Value::as_u64) {
            let classes = cell.get("classes").map_or_else(String::new, Value::to_string);
            signatures[index].1.insert(row, classes);
        }
    }
    let mut columns: Vec<Vec<Vec<u64>>> = Vec::new();
    let mut column_of: std::collections::HashMap<&std::collections::BTreeMap<u64, String>, usize> =
        std::collections::HashMap::new();
    for (links, signature) in &signatures {
        match column_of.get(signature) {
            Some(index) => columns[*index].push(links.clone()),
            None => {
                column_of.insert(signature, columns.len());
                columns.push(vec![links.clone()]);
            }
        }
    }
    columns
}

/// One `-s` scenario and what whatif said about it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Scenario {
    /// The script as given.
    pub script: String,
    /// `whatif FILE -s SCRIPT --timeline --format json`.
    pub whatif: Section,
}

/// A violated property's counterexample, replayed step by step.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Counterexample {
    /// The property it violates.
    pub property: String,
    /// Its steps, as whatif script lines.
    pub steps: Vec<String>,
    /// Per step, the totem delivery order it needs when that is not ascending node id
    /// (`quorate whatif` replays ascending order and flags such a step instead).
    pub delivery_orders: Vec<Option<String>>,
    /// `whatif FILE -s STEPS --format json`: the picture of each step.
    pub whatif: Section,
}

/// What the model check (`sim::check` with `quorate check`'s defaults) said.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CheckRun {
    /// `quorate check FILE --format json`'s document without its `seconds` (so that the
    /// report's JSON is the same on every run).
    pub check: Value,
    /// Why the run stopped before its end (the time guard), when it did.
    pub stopped: Option<String>,
    /// Every violated property's counterexample.
    pub counterexamples: Vec<Counterexample>,
}

/// Section 5: the model check, or why it was not run.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum ModelCheck {
    /// The check ran (to its end, or to the time guard).
    Ran(CheckRun),
    /// The check was not run.
    NotRun {
        /// Why, and what to run instead.
        reason: String,
    },
}

/// Section 6: the plan given with `--plan` (the planner's plan file, format 1).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PlanSection {
    /// The plan file, as given.
    pub path: String,
    /// The plan as `quorate plan -o` wrote it.
    pub plan: planner::Plan,
    /// `plan_sha256` matches the plan's content (`Plan::compute_sha256`, as `plan verify`
    /// checks it): false after a hand edit.
    pub sealed: bool,
    /// The plan starts from FILE (its `from_sha256` is FILE's sha256); `None` for a plan
    /// that forms a new cluster (`--from none`).
    pub starts_from_file: Option<bool>,
}

/// Everything the page shows, also the `--format json` output.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Report {
    /// The file, as given.
    pub file: String,
    /// Section 1.
    pub topology: Topology,
    /// Section 2: `lint FILE --format json`.
    pub findings: Section,
    /// Section 3: `whatif FILE --all --format json`.
    pub failure_matrix: Section,
    /// Section 3's smallest failures (every total loss of the smallest size, at most
    /// [`MAX_LOSS_EXAMPLES`], then the split-brain witness), each replayed by whatif.
    pub failure_examples: Vec<FailureExample>,
    /// Section 4.
    pub scenarios: Vec<Scenario>,
    /// Section 5.
    pub model_check: ModelCheck,
    /// Section 6, with `--plan`.
    pub plan: Option<PlanSection>,
    /// The file's text, for the code frames of the findings.
    #[serde(skip)]
    pub source: String,
}

/// Errors of gathering a report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// `show` could not read or parse the file, so there is nothing to draw.
    #[error("{file}: cannot read the configuration: {reason}")]
    Unreadable {
        /// The file.
        file: String,
        /// `show`'s message.
        reason: String,
    },
    /// The `--plan` file cannot be read.
    #[error("{path}: cannot read the plan: {reason}")]
    PlanUnreadable {
        /// The plan file.
        path: String,
        /// The IO error.
        reason: String,
    },
    /// The `--plan` file is not a plan (format 1) `quorate plan -o` writes.
    #[error("{path}:{line}:{column}: not a quorate plan file: {reason} (write one with `quorate plan --from FILE --to TARGET -o PLAN`; a no-safe-plan report is not a plan)")]
    NotAPlan {
        /// The plan file.
        path: String,
        /// Where the JSON stops being a plan.
        line: usize,
        /// Column of that.
        column: usize,
        /// serde's message.
        reason: String,
    },
}

/// Reads the `--plan` file at `path` and checks it against FILE's text `source`.
pub fn plan_section(path: &str, source: &str) -> Result<PlanSection, ReportError> {
    let text = std::fs::read_to_string(path).map_err(|error| ReportError::PlanUnreadable {
        path: path.to_string(),
        reason: error.to_string(),
    })?;
    let plan: planner::Plan = serde_json::from_str(&text).map_err(|error| ReportError::NotAPlan {
        path: path.to_string(),
        line: error.line(),
        column: error.column(),
        // serde_json's message ends with the position, given once already.
        reason: error
            .to_string()
            .split(" at line ")
            .next()
            .unwrap_or_default()
            .to_string(),
    })?;
    let sealed = plan.compute_sha256() == plan.plan_sha256;
    let starts_from_file = plan
        .from_sha256
        .as_ref()
        .map(|from| *from == executor::status::reading::sha256_hex(source.as_bytes()));
    Ok(PlanSection {
        path: path.to_string(),
        plan,
        sealed,
        starts_from_file,
    })
}

/// Runs `quorate ARGS` in-process and returns its JSON, or a refusal with its stderr.
fn run_json(args: &[&str]) -> Section {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let mut argv = vec!["quorate"];
    argv.extend_from_slice(args);
    let exit_code = crate::run(argv.iter().copied(), &mut out, &mut err);
    let command = format!("quorate {}", args.join(" "));
    match exact::parse(&out) {
        Ok(value) if exit_code != crate::EXIT_ERROR => Section::Data(value),
        _ => Section::Refused(Refusal {
            command,
            exit_code,
            reason: String::from_utf8_lossy(&err).trim().to_string(),
        }),
    }
}

/// Reads the topology out of `show`'s cmap entries.
fn topology(show: &Value) -> Topology {
    let entries = show.pointer("/cmap/entries").and_then(Value::as_object);
    let value =
        |key: &str| -> Option<String> { entries?.get(key)?.get("value")?.as_str().map(str::to_string) };
    let mut nodes = Vec::new();
    let mut links = std::collections::BTreeSet::new();
    for index in 0.. {
        let prefix = format!("nodelist.node.{index}.");
        let has_any = entries.is_some_and(|map| map.keys().any(|key| key.starts_with(&prefix)));
        if !has_any {
            break;
        }
        let mut addresses = Vec::new();
        for link in 0..8u32 {
            if let Some(address) = value(&format!("{prefix}ring{link}_addr")) {
                links.insert(link);
                addresses.push((link, address));
            }
        }
        let name = value(&format!("{prefix}name"))
            .or_else(|| addresses.first().map(|(_, address)| address.clone()))
            .unwrap_or_else(|| format!("node {index}"));
        nodes.push(TopologyNode {
            name,
            nodeid: value(&format!("{prefix}nodeid")).and_then(|text| text.parse().ok()),
            votes: value(&format!("{prefix}quorum_votes"))
                .and_then(|text| text.parse().ok())
                .unwrap_or(1),
            addresses,
        });
    }
    Topology {
        nodes,
        links: links.into_iter().collect(),
        qnetd_host: value("quorum.device.net.host"),
        device_model: value("quorum.device.model"),
    }
}

/// Runs the model check of `file` as `quorate check FILE` would (fault budget 2, no
/// operator actions, symmetry reduction), unless the cluster is larger than
/// [`CHECK_MAX_NODES`]; stops it after [`CHECK_TIME_LIMIT`].
pub fn model_check(file: &str) -> ModelCheck {
    let loaded = match crate::input::LoadedConfig::load(file) {
        Ok(loaded) => loaded,
        Err(error) => {
            return ModelCheck::NotRun {
                reason: error.to_string(),
            }
        }
    };
    let settings = loaded.config.quorum_settings();
    let nodes = settings.nodes.len();
    // Above sim's own limit the check refuses at once, in its own words (below).
    if nodes > CHECK_MAX_NODES && nodes <= sim::check::MAX_CHECK_NODES {
        return ModelCheck::NotRun {
            reason: format!(
                "{nodes} nodes: the report checks clusters of at most {CHECK_MAX_NODES} nodes (the state space grows with every node; run `quorate check {file}`, it shows its progress)"
            ),
        };
    }
    let options = sim::check::CheckOptions::default();
    let started = Instant::now();
    let mut progress = |_: &sim::check::Progress| {};
    let cancelled = || started.elapsed() > CHECK_TIME_LIMIT;
    let report = match sim::check::check_with(
        &settings,
        &options,
        &mut sim::check::Hooks {
            progress: &mut progress,
            cancelled: &cancelled,
        },
    ) {
        Ok(report) => report,
        Err(error) => {
            return ModelCheck::NotRun {
                reason: format!("{file}: {error}"),
            }
        }
    };
    let stopped = report.interrupted.then(|| {
        format!(
            "stopped after {} s (the report's time limit) at {} states: a violation shown is real, a property shown as holding was only not violated yet; run `quorate check {file}` for the full run",
            CHECK_TIME_LIMIT.as_secs(),
            report.states
        )
    });
    let counterexamples = report
        .properties
        .iter()
        .filter(|verdict| !verdict.holds && !verdict.counterexample.is_empty())
        .map(|verdict| {
            let steps: Vec<String> = verdict.counterexample.iter().map(ToString::to_string).collect();
            let delivery_orders = (0..steps.len())
                .map(|index| {
                    verdict
                        .delivery_orders
                        .get(index)
                        .and_then(|orders| sim::check::delivery_order_note(orders))
                })
                .collect();
            let script = steps.join("\n");
            Counterexample {
                property: verdict.name.to_string(),
                whatif: run_json(&["whatif", file, "-s", &script, "--format", "json"]),
                steps,
                delivery_orders,
            }
        })
        .collect();
    let mut check = serde_json::to_value(&report).unwrap_or(Value::Null);
    if let Some(object) = check.as_object_mut() {
        object.remove("seconds");
        object.insert("file".to_string(), Value::String(file.to_string()));
    }
    ModelCheck::Ran(CheckRun {
        check,
        stopped,
        counterexamples,
    })
}

/// The smallest failures `whatif --all` names in `matrix`, each replayed through
/// `whatif FILE -s SCRIPT`: the total losses of the smallest size (one `stop` of the whole
/// down set: the failure at once, as `whatif --all` evaluates it), then the split-brain
/// witness with its own script.
fn failure_examples(file: &str, matrix: &Section) -> Vec<FailureExample> {
    let Section::Data(value) = matrix else {
        return Vec::new();
    };
    let mut examples = Vec::new();
    let losses = value
        .pointer("/summary/smallest_total_loss")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    for loss in losses.take(MAX_LOSS_EXAMPLES) {
        let down: Vec<String> = loss
            .get("down")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(Value::to_string)
            .collect();
        if down.is_empty() {
            continue;
        }
        let count = loss.get("count").map_or_else(String::new, Value::to_string);
        let script = format!("stop {}", down.join(","));
        examples.push(FailureExample {
            cell: None,
            quorate_sides: Vec::new(),
            kind: ExampleKind::TotalLoss,
            title: format!(
                "all quorum lost with node{} {} down ({count} such set{})",
                if down.len() == 1 { "" } else { "s" },
                down.join(", "),
                if count == "1" { "" } else { "s" }
            ),
            whatif: run_json(&["whatif", file, "-s", &script, "--format", "json"]),
            nodes_down: Some(down.len()),
            script,
        });
    }
    let text =
        |witness: &Value, key: &str| witness.get(key).and_then(Value::as_str).unwrap_or("").to_string();
    let sides = |witness: &Value| -> Vec<Vec<u64>> {
        witness
            .get("quorate_sides")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|side| {
                side.as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_u64)
                    .collect()
            })
            .collect()
    };
    let overall = examples.len();
    if let Some(witness) = value
        .pointer("/summary/split_brain/witness")
        .filter(|witness| !witness.is_null())
    {
        let script = text(witness, "script");
        examples.push(FailureExample {
            kind: ExampleKind::SplitBrain,
            title: format!(
                "split-brain: {} ({})",
                text(witness, "description"),
                text(witness, "case")
            ),
            whatif: run_json(&["whatif", file, "-s", &script, "--format", "json"]),
            nodes_down: None,
            cell: None,
            quorate_sides: sides(witness),
            script,
        });
    }
    // The witness of every grid cell (as drawn: a column's first link set) with a
    // split-brain scenario, per case.
    let drawn: std::collections::HashSet<Vec<u64>> = grid_columns(value)
        .into_iter()
        .filter_map(|column| column.into_iter().next())
        .collect();
    let cells = value.get("grid").and_then(Value::as_array);
    for cell in cells.into_iter().flatten() {
        let Some(witnesses) = cell.get("split_brain_witnesses") else {
            continue;
        };
        let links: Vec<u64> = cell
            .get("failed_links")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_u64)
            .collect();
        let Some(nodes_down) = cell.get("nodes_down").and_then(Value::as_u64) else {
            continue;
        };
        if !drawn.contains(&links) {
            continue;
        }
        let links = &links;
        for witness in witnesses.as_array().into_iter().flatten() {
            let script = text(witness, "script");
            let case = text(witness, "case");
            let here = ExampleCell {
                nodes_down,
                failed_links: links.clone(),
                case: case.clone(),
            };
            // The overall witness is one of the cells' witnesses: link it, once.
            if let Some(example) = examples.get_mut(overall).filter(|example| {
                example.kind == ExampleKind::SplitBrain
                    && example.cell.is_none()
                    && example.script == script
                    && example.title.ends_with(&format!("({case})"))
            }) {
                example.cell = Some(here);
                continue;
            }
            examples.push(FailureExample {
                kind: ExampleKind::SplitBrain,
                title: format!(
                    "split-brain with {nodes_down} node{} down, {} ({case}): {}",
                    if nodes_down == 1 { "" } else { "s" },
                    html::links_title(links),
                    text(witness, "description")
                ),
                whatif: run_json(&["whatif", file, "-s", &script, "--format", "json"]),
                nodes_down: None,
                cell: Some(here),
                quorate_sides: sides(witness),
                script,
            });
        }
    }
    examples
}

/// Gathers every section for `file` with the given `-s` scripts and `--plan` file.
pub fn gather(file: &str, scripts: &[String], plan: Option<&str>) -> Result<Report, ReportError> {
    let source = std::fs::read_to_string(file).map_err(|error| ReportError::Unreadable {
        file: file.to_string(),
        reason: error.to_string(),
    })?;
    let plan = plan.map(|path| plan_section(path, &source)).transpose()?;
    let show = match run_json(&["show", file, "--format", "json"]) {
        Section::Data(value) => value,
        Section::Refused(refusal) => {
            return Err(ReportError::Unreadable {
                file: file.to_string(),
                reason: refusal.reason,
            })
        }
    };
    let scenarios = scripts
        .iter()
        .map(|script| Scenario {
            script: script.clone(),
            whatif: run_json(&["whatif", file, "-s", script, "--timeline", "--format", "json"]),
        })
        .collect();
    let failure_matrix = run_json(&["whatif", file, "--all", "--format", "json"]);
    Ok(Report {
        file: file.to_string(),
        topology: topology(&show),
        findings: run_json(&["lint", file, "--format", "json"]),
        failure_examples: failure_examples(file, &failure_matrix),
        failure_matrix,
        scenarios,
        model_check: model_check(file),
        plan,
        source,
    })
}
