//! Contracts at scale: a directory of 1,000 ODCS v3.1.0 contracts (10 domains; each contract 12
//! columns of several engines' physical types, nested objects, logical type options, quality
//! entries of every kind, SLAs, a team, servers and custom properties; every 10th contract two
//! tables). Measures, as a user runs them (a new process each time):
//!
//! - `lakemeta contract lint DIR` — the standard's schema and lakemeta's reading, no warehouse;
//! - `lakemeta apply DIR --dry-run` on an empty warehouse — the whole plan: every contract read,
//!   every table looked for, every change authorised;
//! - `lakemeta apply DIR` once (1,100 Delta tables created, the catalog committed), then again
//!   (`no changes`).
//!
//! Run: `cargo bench --bench contracts`.

use std::process::Command;
use std::time::{Duration, Instant};

const CONTRACTS: usize = 1_000;
const DOMAINS: usize = 10;

/// One generated contract; every 10th describes two tables.
fn contract(i: usize) -> String {
    let domain = format!("domain_{:02}", i % DOMAINS);
    let mut text = format!(
        "apiVersion: v3.1.0
kind: DataContract
id: bench-contract-{i:04}
version: 1.{}.0
status: active
domain: {domain}
dataProduct: Product {i}
description:
  purpose: Generated contract {i} for the contract benchmark
  usage: Read it with SQL
tags: [bench, generated]
team:
  name: team-{domain}
  members:
    - username: owner{i}@example.com
      role: owner
servers:
  - server: prod
    type: postgres
    host: db.example.com
    port: 5432
    database: shop
    schema: public
slaProperties:
  - property: freshness
    value: {}
    unit: h
  - property: availability
    value: 99.5
  - property: retention
    value: 3
    unit: y
customProperties:
  - property: accessPatterns
    value: [batch, interactive]
schema:
",
        i % 7,
        1 + i % 24
    );
    let tables = if i.is_multiple_of(10) { 2 } else { 1 };
    for t in 0..tables {
        text.push_str(&table(i, t));
    }
    text
}

fn table(i: usize, t: usize) -> String {
    format!(
        "  - name: Table {i} {t}
    physicalName: table_{i}_{t}
    logicalType: object
    physicalType: table
    description: Table {t} of contract {i}
    properties:
      - name: id
        logicalType: string
        physicalType: varchar(36)
        primaryKey: true
        logicalTypeOptions:
          pattern: '^[0-9a-f-]{{36}}$'
        quality:
          - metric: duplicateValues
            mustBe: 0
      - name: customer_id
        logicalType: integer
        physicalType: NUMBER(38,0)
        required: true
      - name: amount
        logicalType: number
        physicalType: decimal(12,2)
        logicalTypeOptions:
          minimum: 0
          maximum: 1000000
        quality:
          - metric: nullValues
            mustBeLessThan: 5
            unit: percent
      - name: status
        logicalType: string
        physicalType: string
        quality:
          - metric: invalidValues
            arguments:
              validValues: [open, paid, shipped, cancelled]
            mustBe: 0
      - name: created_at
        logicalType: timestamp
        physicalType: timestamp_ntz
        required: true
      - name: order_date
        logicalType: date
        physicalType: date
        logicalTypeOptions:
          minimum: '2020-01-01'
      - name: flags
        logicalType: array
        physicalType: ARRAY<STRING>
      - name: address
        logicalType: object
        properties:
          - name: street
            logicalType: string
          - name: zip
            logicalType: string
      - name: score
        logicalType: number
        physicalType: FLOAT64
      - name: email
        logicalType: string
        physicalType: text
        classification: restricted
        tags: [pii]
      - name: quantity
        logicalType: integer
        physicalType: int unsigned
        logicalTypeOptions:
          minimum: 0
      - name: note
        logicalType: string
        physicalType: VARIANT
    quality:
      - metric: rowCount
        mustBeGreaterThan: 0
      - type: sql
        query: SELECT count(*) FROM ${{object}} WHERE amount < 0
        mustBe: 0
      - type: text
        description: Reviewed by the data steward every quarter
      - type: custom
        engine: soda
        implementation: |
          checks for table_{i}_{t}:
            - row_count > 0
"
    )
}

fn domain_spec(d: usize) -> String {
    format!(
        "apiVersion: lakemeta/v1\nkind: Domain\nname: domain_{d:02}\nowner: team-domain_{d:02}\n"
    )
}

fn stats(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    v.sort();
    (v[0], v[v.len() / 2], v[v.len() - 1])
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

/// Runs the binary `runs` times and reports min/median/max; every run must exit 0.
fn measure(label: &str, runs: usize, args: &[&str], check: impl Fn(&str, &str)) {
    let bin = env!("CARGO_BIN_EXE_lakemeta");
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let out = Command::new(bin).args(args).output().unwrap();
        times.push(t.elapsed());
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{label}: {stdout}\n{stderr}");
        check(&stdout, &stderr);
    }
    let (min, med, max) = stats(times);
    println!(
        "{label:<44} min {:>8}  median {:>8}  max {:>8}  ({runs} runs)",
        ms(min),
        ms(med),
        ms(max)
    );
}

fn main() {
    // `cargo test --all-targets` runs bench targets too, without `--bench`: build them, run nothing
    if !std::env::args().any(|a| a == "--bench") {
        println!("contracts: run with `cargo bench --bench contracts`");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let specs = dir.path().join("specs");
    std::fs::create_dir_all(specs.join("domains")).unwrap();
    std::fs::create_dir_all(specs.join("contracts")).unwrap();
    for d in 0..DOMAINS {
        std::fs::write(
            specs.join(format!("domains/domain_{d:02}.yaml")),
            domain_spec(d),
        )
        .unwrap();
    }
    let mut bytes = 0;
    for i in 0..CONTRACTS {
        let text = contract(i);
        bytes += text.len();
        std::fs::write(specs.join(format!("contracts/contract_{i:04}.yaml")), text).unwrap();
    }
    let tables = CONTRACTS + CONTRACTS / 10;
    println!(
        "fixture: {CONTRACTS} ODCS v3.1.0 contracts ({tables} tables, {:.1} MiB of YAML) and {DOMAINS} domain specs",
        bytes as f64 / (1024.0 * 1024.0)
    );
    let specs_arg = specs.to_str().unwrap();
    let files = CONTRACTS + DOMAINS;

    measure(
        "lakemeta contract lint DIR",
        5,
        &["contract", "lint", specs_arg],
        |_, stderr| {
            assert!(
                stderr.contains(&format!("{files} files checked: all valid")),
                "{stderr}"
            )
        },
    );

    let wh = dir.path().join("wh");
    let wh_arg = wh.to_str().unwrap();
    let new_product = "+ product domain_00.table_0_0";
    measure(
        "lakemeta apply DIR --dry-run (empty warehouse)",
        3,
        &["-w", wh_arg, "apply", specs_arg, "--dry-run"],
        |stdout, _| {
            assert_eq!(stdout.matches("+ product ").count(), tables, "{stdout}");
            assert!(stdout.contains(new_product), "{stdout}");
        },
    );
    measure(
        "lakemeta apply DIR (creates every table)",
        1,
        &["-w", wh_arg, "apply", specs_arg],
        |stdout, _| assert_eq!(stdout.matches("+ table ").count(), tables),
    );
    measure(
        "lakemeta apply DIR again (no changes)",
        3,
        &["-w", wh_arg, "apply", specs_arg],
        |stdout, _| assert!(stdout.starts_with("no changes"), "{stdout}"),
    );
}
