//! What governance adds to a statement, warm: a warehouse with 1,000 teams of five members
//! (plus the platform admins), 50 data products in 10 domains (half tagged `pii`, six with a
//! table of 1,000 rows) and 10,000 live grants spread over the products (half to users, half
//! to teams), next to a twin warehouse with the same products and data but no team, where
//! governance is off. The goal is that governance adds less than 1 ms to a statement.
//!
//! Each statement runs in one long-lived session per principal and warehouse (as the REPL or
//! the server keeps it), after a warm-up, the runs on the two warehouses interleaved: `SELECT
//! 1`, a count over an open product, a count over a `pii` product by a principal with a team
//! grant and by one with a user grant, a join of the two products, and `search_catalog`, which
//! labels every hit with the principal's access. The median and p95 of each are printed for
//! governance on and off, with the difference of the medians. Then one read decision alone
//! (`Governance::read_access`) for each way a decision ends, in nanoseconds per call. Last, what
//! one commit of the audit writer costs as the log grows — its blind appends, and ordinary Delta
//! appends for comparison — in a throwaway warehouse. Only figures are printed; the results (row
//! counts, decisions, rows read back) are checked, the timings never.
//!
//! Run: `cargo bench --bench governance` (the warehouses are generated once under
//! target/bench-data/governance; `-- --keep DIR` keeps them in DIR instead, `-- --temp` builds
//! a throwaway pair; `-- --runs N` times each statement N times, 200 by default). A quick check
//! that it works, in the debug profile (whose figures mean nothing):
//! `cargo test --bench governance -- --runs 20`.
//!
//! Every statement is audited: each run appends to the warehouses' `meta.audit_log`, on both
//! sides alike; delete the directory for a fresh pair.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{Array, Int64Array, StringArray};
use lakemeta::catalog::{
    Catalog, CatalogState, ChangeSummary, DomainChange, ProductChange, TeamChange,
};
use lakemeta::governance::{BATCH_WINDOW, ReadAccess};
use lakemeta::model::{
    AuditEvent, Column, DataProduct, Domain, Grant, GranteeKind, Member, Principal, ProductName,
    Team, now_micros,
};
use lakemeta::sql::{Output, Session, SessionOptions};
use lakemeta::storage::{RowChange, SystemTableKind, Warehouse, WarehouseLocation};

const TEAMS: usize = 1_000;
const MEMBERS: usize = 5;
const DOMAINS: usize = 10;
const PRODUCTS: usize = 50;
/// Products `product_00` … `product_05` hold a table of `ROWS` rows; the others are metadata.
const WITH_DATA: usize = 6;
const ROWS: i64 = 1_000;
const GRANTS: usize = 10_000;
const ADMIN: &str = "admin";
const ADMIN_TEAM: &str = "platform-admins";
/// The generated grants go to teams `team-0000` … `team-0499` and their members; the two
/// readers below are members of teams past those, so each holds exactly the grant named.
const SPREAD_TEAMS: usize = 500;
/// A member of `team-0500`, which holds a team grant on the `pii` product.
const TEAM_READER: &str = "user-team-0500-0";
/// A member of `team-0501`, which holds a user grant on the `pii` product.
const USER_READER: &str = "user-team-0501-0";
/// A member of a team that owns nothing and holds no grant.
const OUTSIDER: &str = "user-team-0999-0";
/// An open product with data (even numbers are open).
const OPEN: (&str, &str) = ("domain_0", "product_00");
/// A `pii` product with data (odd numbers are tagged `pii`).
const PII: (&str, &str) = ("domain_1", "product_01");
/// Marks a complete fixture; a new layout of the fixture gets a new name.
const READY: &str = ".ready-v1";

fn team_name(t: usize) -> String {
    format!("team-{t:04}")
}

fn member_name(t: usize, k: usize) -> String {
    format!("user-{}-{k}", team_name(t))
}

fn teams() -> Vec<Team> {
    let team = |name: String, admin: bool, members: Vec<String>| Team {
        description: format!("{name}, generated for the governance benchmark"),
        name,
        admin,
        members: members
            .into_iter()
            .map(|name| Member {
                name,
                attributes: BTreeMap::new(),
            })
            .collect(),
        created_at: 0,
        updated_at: 0,
        updated_by: String::new(),
    };
    let mut out: Vec<Team> = (0..TEAMS)
        .map(|t| {
            team(
                team_name(t),
                false,
                (0..MEMBERS).map(|k| member_name(t, k)).collect(),
            )
        })
        .collect();
    out.push(team(ADMIN_TEAM.into(), true, vec![ADMIN.into()]));
    out
}

fn domain_name(d: usize) -> String {
    format!("domain_{d}")
}

/// Domain `d` is owned by `team-00d0` (`domain_1` by `team-0010`).
fn domain_owner(d: usize) -> String {
    team_name(d * 10)
}

fn domains() -> Vec<Domain> {
    (0..DOMAINS)
        .map(|d| Domain {
            description: format!("Generated domain {d}"),
            ..Domain::new(domain_name(d), domain_owner(d))
        })
        .collect()
}

/// Product `i`: `domain_<i % 10>.product_<i>`, owned by its domain's team, `pii` when odd.
fn product_name(i: usize) -> ProductName {
    ProductName::new(domain_name(i % DOMAINS), format!("product_{i:02}"))
}

fn tags(i: usize) -> Vec<String> {
    if i % 2 == 1 {
        vec!["pii".into()]
    } else {
        vec![]
    }
}

fn description(i: usize) -> String {
    format!("Generated product number {i} for the governance benchmark")
}

/// A product without data (`i >= WITH_DATA`), registered with its metadata only.
fn metadata_product(i: usize, wh: &Warehouse) -> DataProduct {
    let name = product_name(i);
    let column = |c: i32, n: &str, t: &str| Column {
        name: n.into(),
        data_type: t.into(),
        nullable: c != 0,
        primary_key: c == 0,
        unique: c == 0,
        ordinal: c,
        ..Column::default()
    };
    DataProduct {
        location: wh
            .new_product_location(&name.domain, &name.name)
            .unwrap()
            .to_string(),
        owner: domain_owner(i % DOMAINS),
        domain: name.domain,
        name: name.name,
        kind: "managed".into(),
        format: "delta".into(),
        description: description(i),
        tags: tags(i),
        access_patterns: vec!["batch".into()],
        columns: vec![
            column(0, "id", "bigint"),
            column(1, "bucket", "bigint"),
            column(2, "label", "string"),
        ],
        ..DataProduct::default()
    }
}

/// `GRANTS` live grants: `GRANTS - 2` spread evenly over the products, alternately to a team
/// and to a member of a team among the first `SPREAD_TEAMS`; then the team grant of
/// `TEAM_READER`'s team and the user grant of `USER_READER`, both on the `pii` product.
fn grants() -> Vec<Grant> {
    let now = now_micros();
    let grant = |n: usize, product: String, grantee: String, kind: GranteeKind| Grant {
        grant_id: format!("grant_{n:05}"),
        product,
        grantee,
        grantee_kind: kind,
        privilege: "select".into(),
        granted_by: ADMIN.into(),
        granted_at: now,
        expires_at: now + 30 * 24 * 3600 * 1_000_000,
        request_id: None,
        revoked_at: None,
        revoked_by: None,
    };
    let mut out: Vec<Grant> = (0..GRANTS - 2)
        .map(|g| {
            let p = g % PRODUCTS;
            let t = (g / PRODUCTS * 37 + p * 11) % SPREAD_TEAMS;
            let product = product_name(p).to_string();
            if g % 2 == 0 {
                grant(g, product, team_name(t), GranteeKind::Team)
            } else {
                grant(g, product, member_name(t, g % MEMBERS), GranteeKind::User)
            }
        })
        .collect();
    let pii = ProductName::new(PII.0, PII.1).to_string();
    out.push(grant(
        GRANTS - 2,
        pii.clone(),
        team_name(500),
        GranteeKind::Team,
    ));
    out.push(grant(
        GRANTS - 1,
        pii,
        USER_READER.into(),
        GranteeKind::User,
    ));
    out
}

async fn open_catalog(root: &Path) -> Arc<Catalog> {
    let wh = Warehouse::open(WarehouseLocation::parse(root.to_str().unwrap()).unwrap())
        .await
        .unwrap();
    Arc::new(Catalog::open(Arc::new(wh)).await.unwrap())
}

/// One warehouse of the pair: the teams and the grants only when `governed`; the same
/// domains, products and data either way. Built by the platform admin.
async fn build(root: &Path, governed: bool) {
    std::fs::create_dir_all(root).unwrap();
    let catalog = open_catalog(root).await;
    let admin = Principal::new(ADMIN);
    let products = (WITH_DATA..PRODUCTS)
        .map(|i| ProductChange::Create(metadata_product(i, catalog.warehouse())))
        .collect();
    catalog
        .commit(
            &ChangeSummary {
                teams: if governed {
                    teams().into_iter().map(TeamChange::Create).collect()
                } else {
                    vec![]
                },
                domains: domains().into_iter().map(DomainChange::Create).collect(),
                products,
                ..Default::default()
            },
            &admin,
        )
        .await
        .unwrap();
    let session = Session::with_catalog(Arc::clone(&catalog), SessionOptions::new(admin.clone()))
        .await
        .unwrap();
    for i in 0..WITH_DATA {
        session
            .sql(&format!(
                "CREATE TABLE {} AS SELECT value AS id, value % 100 AS bucket, \
                 concat('row-', CAST(value AS VARCHAR)) AS label FROM generate_series(1, {ROWS})",
                product_name(i)
            ))
            .await
            .unwrap();
    }
    // the tables made by CREATE TABLE … AS get their description and tags
    let state = catalog.state();
    let updates = (0..WITH_DATA)
        .map(|i| {
            let before = DataProduct::clone(&state.products[&product_name(i)]);
            let after = DataProduct {
                description: description(i),
                tags: tags(i),
                ..before.clone()
            };
            ProductChange::Update { before, after }
        })
        .collect();
    catalog
        .commit(
            &ChangeSummary {
                products: updates,
                ..Default::default()
            },
            &admin,
        )
        .await
        .unwrap();
    if governed {
        let rows: Vec<RowChange<Grant>> = grants()
            .into_iter()
            .map(|row| RowChange::Upsert {
                expected: None,
                row,
            })
            .collect();
        catalog.commit_access(&[], &rows).await.unwrap();
    }
    catalog.audit().flush().await.unwrap();
}

/// The pair of warehouses (governed, ungoverned) in `dir`, generated when incomplete.
fn fixture(dir: &Path, rt: &tokio::runtime::Runtime) -> (PathBuf, PathBuf) {
    let (on, off) = (dir.join("on"), dir.join("off"));
    if !dir.join(READY).exists() {
        let _ = std::fs::remove_dir_all(dir);
        println!("governance: generating the warehouses (once) …");
        let t = Instant::now();
        rt.block_on(async {
            build(&on, true).await;
            build(&off, false).await;
        });
        println!("  built in {:.1} s", t.elapsed().as_secs_f64());
        std::fs::write(dir.join(READY), "").unwrap();
    }
    (on, off)
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

/// The median and p95 of the samples.
fn summary(mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    (quantile(&v, 0.5), quantile(&v, 0.95))
}

/// The single integer a `SELECT count(*)` or `SELECT 1` returns.
fn scalar(out: &Output) -> i64 {
    assert_eq!(out.row_count(), 1, "one row expected");
    let batch = out.batches.iter().find(|b| b.num_rows() > 0).unwrap();
    let col = batch.column(0);
    col.as_any()
        .downcast_ref::<Int64Array>()
        .map(|a| a.value(0))
        .unwrap_or_else(|| panic!("an Int64 expected, got {}", col.data_type()))
}

/// How many hits of a `search_catalog` answer carry each access label (`granted until …`
/// counted as `granted`).
fn labels(out: &Output) -> BTreeMap<String, usize> {
    let mut n = BTreeMap::new();
    for b in &out.batches {
        let access = b
            .column_by_name("access")
            .unwrap()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap()
            .clone();
        for v in access.iter().flatten() {
            let label = v.split(' ').next().unwrap_or(v).to_string();
            *n.entry(label).or_default() += 1;
        }
    }
    n
}

/// Runs `sql` once in `session`, checks its answer, and returns how long it took.
async fn timed(session: &Session, sql: &str, check: fn(&Output)) -> (Duration, Output) {
    let t = Instant::now();
    let out = session.sql(sql).await.unwrap().pop().unwrap();
    let took = t.elapsed();
    check(&out);
    (took, out)
}

fn one(out: &Output) {
    assert_eq!(scalar(out), 1);
}

fn all_rows(out: &Output) {
    assert_eq!(scalar(out), ROWS);
}

fn every_product(out: &Output) {
    assert_eq!(out.row_count(), PRODUCTS);
}

/// One read decision to time: `who` reading `product` in the snapshot `state`, which must end
/// as `expect` (a [`ReadAccess::reason`], or `refused`).
struct Decision<'a> {
    label: &'static str,
    who: &'a str,
    product: (&'static str, &'static str),
    state: &'a CatalogState,
    expect: &'static str,
}

struct Case {
    label: &'static str,
    who: &'static str,
    sql: String,
    check: fn(&Output),
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo test --all-targets` runs bench targets too, without arguments: build them, run
    // nothing; `cargo test --bench governance -- --runs N` runs it in the debug profile
    if !args.iter().any(|a| a == "--bench" || a == "--runs") {
        println!("governance: run with `cargo bench --bench governance`");
        return;
    }
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let runs: usize = value("--runs").map_or(200, |v| v.parse().expect("--runs N"));
    assert!(runs > 0, "--runs N: at least one run");
    let warmup = (runs / 10).max(5);
    let decisions = runs * 500;
    let tmp = tempfile::tempdir().unwrap();
    let dir = if args.iter().any(|a| a == "--temp") {
        tmp.path().join("governance")
    } else {
        value("--keep").map(PathBuf::from).unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data/governance")
        })
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (on_root, off_root) = fixture(&dir, &rt);

    rt.block_on(async {
        let on = open_catalog(&on_root).await;
        let off = open_catalog(&off_root).await;

        // the fixture, as the governed warehouse holds it
        let state = on.state();
        let g = &state.governance;
        let now = now_micros();
        let members: usize = g.teams().values().map(|t| t.members.len()).sum();
        let live = g.grants().values().filter(|x| x.is_live(now)).count();
        let to_teams = g
            .grants()
            .values()
            .filter(|x| x.is_live(now) && x.grantee_kind == GranteeKind::Team)
            .count();
        let pii = state
            .products
            .values()
            .filter(|p| !g.sensitive_tags(p).is_empty())
            .count();
        let pii_grants = g
            .grants()
            .values()
            .filter(|x| x.product == ProductName::new(PII.0, PII.1).to_string())
            .count();
        assert!(g.enabled() && !off.state().governance.enabled());
        assert_eq!(g.teams().len(), TEAMS + 1);
        assert_eq!(members, TEAMS * MEMBERS + 1);
        assert_eq!(live, GRANTS);
        assert_eq!(state.products.len(), PRODUCTS);
        assert_eq!(off.state().products.len(), PRODUCTS);
        assert_eq!(pii, PRODUCTS / 2);
        println!(
            "fixture: {} teams ({TEAMS} of {MEMBERS} members + {ADMIN_TEAM}), {members} \
             memberships; {live} live grants ({to_teams} to teams, {} to users; {pii_grants} on \
             {}.{}); {PRODUCTS} products in {DOMAINS} domains, {pii} tagged pii, {WITH_DATA} \
             with {ROWS} rows. Twin warehouse: the same products and data, no team \
             (governance off).",
            g.teams().len(),
            live - to_teams,
            PII.0,
            PII.1,
        );
        println!(
            "{runs} runs per statement after {warmup} warm-up runs, one session per principal and \
             warehouse, governance on and off interleaved; times in ms"
        );

        let open = format!("{}.{}", OPEN.0, OPEN.1);
        let pii = format!("{}.{}", PII.0, PII.1);
        let cases = [
            Case {
                label: "SELECT 1",
                who: TEAM_READER,
                sql: "SELECT 1".into(),
                check: one,
            },
            Case {
                label: "count(*) of an open product",
                who: TEAM_READER,
                sql: format!("SELECT count(*) FROM {open}"),
                check: all_rows,
            },
            Case {
                label: "count(*) of a pii product, team grant",
                who: TEAM_READER,
                sql: format!("SELECT count(*) FROM {pii}"),
                check: all_rows,
            },
            Case {
                label: "count(*) of a pii product, user grant",
                who: USER_READER,
                sql: format!("SELECT count(*) FROM {pii}"),
                check: all_rows,
            },
            Case {
                label: "join open ⋈ pii, team grant",
                who: TEAM_READER,
                sql: format!("SELECT count(*) FROM {open} o JOIN {pii} p ON o.id = p.id"),
                check: all_rows,
            },
            Case {
                label: "join open ⋈ pii, user grant",
                who: USER_READER,
                sql: format!("SELECT count(*) FROM {open} o JOIN {pii} p ON o.id = p.id"),
                check: all_rows,
            },
            Case {
                label: "search_catalog('product'), 50 hits",
                who: TEAM_READER,
                sql: "SELECT * FROM search_catalog('product')".into(),
                check: every_product,
            },
        ];

        let mut sessions: BTreeMap<(&str, bool), Session> = BTreeMap::new();
        for who in [TEAM_READER, USER_READER] {
            for (governed, catalog) in [(true, &on), (false, &off)] {
                let options = SessionOptions::new(Principal::new(who));
                let s = Session::with_catalog(Arc::clone(catalog), options)
                    .await
                    .unwrap();
                sessions.insert((who, governed), s);
            }
        }
        println!();
        println!(
            "| statement | principal | on: median | on: p95 | off: median | off: p95 | added \
             (median) |"
        );
        println!("|---|---|---:|---:|---:|---:|---:|");
        let mut search_labels = BTreeMap::new();
        for c in &cases {
            let (s_on, s_off) = (&sessions[&(c.who, true)], &sessions[&(c.who, false)]);
            for _ in 0..warmup {
                timed(s_on, &c.sql, c.check).await;
                timed(s_off, &c.sql, c.check).await;
            }
            let (mut t_on, mut t_off) = (Vec::new(), Vec::new());
            for _ in 0..runs {
                let (d, out) = timed(s_on, &c.sql, c.check).await;
                t_on.push(d);
                if c.sql.contains("search_catalog") {
                    search_labels = labels(&out);
                }
                t_off.push(timed(s_off, &c.sql, c.check).await.0);
            }
            let (on_med, on_p95) = summary(t_on);
            let (off_med, off_p95) = summary(t_off);
            let added = on_med.as_secs_f64() - off_med.as_secs_f64();
            println!(
                "| {} | {} | {} | {} | {} | {} | {:+.3} |",
                c.label,
                c.who,
                ms(on_med),
                ms(on_p95),
                ms(off_med),
                ms(off_p95),
                added * 1000.0
            );
        }
        assert_eq!(search_labels.values().sum::<usize>(), PRODUCTS);
        println!(
            "\nsearch_catalog's access labels for {TEAM_READER}: {}",
            search_labels
                .iter()
                .map(|(l, n)| format!("{n} {l}"))
                .collect::<Vec<_>>()
                .join(", ")
        );

        // one read decision alone, for each way it ends
        let owner = member_name(10, 0); // team-0010 owns domain_1
        let off_state = off.state();
        let decisions_made = [
            Decision {
                label: "team grant (pii)",
                who: TEAM_READER,
                product: PII,
                state: &state,
                expect: "grant",
            },
            Decision {
                label: "user grant (pii)",
                who: USER_READER,
                product: PII,
                state: &state,
                expect: "grant",
            },
            Decision {
                label: "open, no grant",
                who: USER_READER,
                product: OPEN,
                state: &state,
                expect: "open",
            },
            Decision {
                label: "owner (pii)",
                who: &owner,
                product: PII,
                state: &state,
                expect: "owner",
            },
            Decision {
                label: "admin (pii)",
                who: ADMIN,
                product: PII,
                state: &state,
                expect: "admin",
            },
            Decision {
                label: "refused (pii, no grant)",
                who: OUTSIDER,
                product: PII,
                state: &state,
                expect: "refused",
            },
            Decision {
                label: "governance off",
                who: TEAM_READER,
                product: PII,
                state: &off_state,
                expect: "ungoverned",
            },
        ];
        println!(
            "\nGovernance::read_access alone, {decisions} calls each ({pii_grants} grants on {}.{}, \
             about {} on every other product):",
            PII.0,
            PII.1,
            GRANTS / PRODUCTS
        );
        println!("| decision | principal | ns per call |");
        println!("|---|---|---:|");
        for Decision {
            label,
            who,
            product: name,
            state: st,
            expect,
        } in decisions_made
        {
            let p = st.product(&ProductName::new(name.0, name.1)).unwrap();
            let d = st.domain(name.0).unwrap();
            let first = st.governance.read_access(who, p, d, now_micros());
            let reason = first.as_ref().map_or("refused", ReadAccess::reason);
            assert_eq!(reason, expect, "{label}: unexpected decision {first:?}");
            let t = Instant::now();
            for _ in 0..decisions {
                let r = st.governance.read_access(
                    std::hint::black_box(who),
                    std::hint::black_box(p),
                    std::hint::black_box(d),
                    now_micros(),
                );
                std::hint::black_box(r.is_ok());
            }
            let ns = t.elapsed().as_secs_f64() * 1e9 / decisions as f64;
            println!("| {label} | {who} | {ns:.0} |");
        }

        on.audit().flush().await.unwrap();
        off.audit().flush().await.unwrap();
    });

    rt.block_on(audit_commits(&tmp.path().join("audit-blind"), runs, true));
    rt.block_on(audit_commits(
        &tmp.path().join("audit-ordinary"),
        runs,
        false,
    ));
}

/// Events per audit commit in [`audit_commits`]: the 16-client Flight load of the README runs
/// about 35 calls a second, so a commit every [`BATCH_WINDOW`] carries this many.
const EVENTS_PER_COMMIT: usize = 7;

/// What one commit of the audit writer costs, and whether that grows with the log: `2 × runs`
/// batches of [`EVENTS_PER_COMMIT`] events appended one by one to a fresh warehouse's
/// `meta.audit_log` — `blind` as the audit writer appends them, otherwise as an ordinary Delta
/// append that brings the table's snapshot up to date — timed per commit (wall) and per
/// quarter (the process's CPU time, which also counts the threads a commit hands work to).
async fn audit_commits(root: &Path, runs: usize, blind: bool) {
    std::fs::create_dir_all(root).unwrap();
    let wh = Warehouse::open(WarehouseLocation::parse(root.to_str().unwrap()).unwrap())
        .await
        .unwrap();
    let table = wh.table(SystemTableKind::AuditLog);
    let per_quarter = (runs / 2).max(5);
    println!(
        "\n{}: {} commits of {EVENTS_PER_COMMIT} events into a fresh meta.audit_log (the \
         audit writer commits once per {} ms under load), per quarter of the commits:",
        if blind {
            "the audit writer's blind appends"
        } else {
            "for comparison, ordinary Delta appends (the snapshot kept up to date)"
        },
        4 * per_quarter,
        BATCH_WINDOW.as_millis()
    );
    println!("| commits | wall: median ms | wall: p95 ms | CPU ms per commit |");
    println!("|---|---:|---:|---:|");
    let mut done = 0;
    for _ in 0..4 {
        let cpu = cpu_time();
        let mut walls = Vec::new();
        for _ in 0..per_quarter {
            let events: Vec<AuditEvent> = (0..EVENTS_PER_COMMIT).map(audit_event).collect();
            let t = Instant::now();
            let version = if blind {
                table.append_blind(&events).await.unwrap()
            } else {
                table.append(&events).await.unwrap()
            };
            walls.push(t.elapsed());
            done += 1;
            assert_eq!(version, Some(done as u64), "one commit per append");
        }
        let cpu = (cpu_time() - cpu).as_secs_f64() * 1000.0 / per_quarter as f64;
        let (median, p95) = summary(walls);
        println!(
            "| {}–{done} | {} | {} | {cpu:.1} |",
            done - per_quarter + 1,
            ms(median),
            ms(p95)
        );
    }
    table.refresh().await.unwrap();
    let rows = table.read_batches().await.unwrap();
    let rows: usize = rows.iter().map(|b| b.num_rows()).sum();
    assert_eq!(
        rows,
        done * EVENTS_PER_COMMIT,
        "every event appended is read back"
    );
}

/// An audit event as a Flight query of the load leaves it.
fn audit_event(i: usize) -> AuditEvent {
    AuditEvent {
        at: now_micros(),
        statement_id: format!("bench-{}-{i}", now_micros()),
        principal: "bench".into(),
        client_address: Some("127.0.0.1:50000".into()),
        channel: "flight".into(),
        kind: "query".into(),
        statement: Some(format!(
            "SELECT country, count(*) AS n FROM bench.events WHERE id BETWEEN {i} AND {} \
             GROUP BY country",
            i + 100_000
        )),
        products_read: vec!["bench.events".into()],
        columns_read: vec!["bench.events.country".into(), "bench.events.id".into()],
        products_written: Vec::new(),
        decision: "allowed".into(),
        reason: Some("open".into()),
        grant_ids: Vec::new(),
        policy_version: 1,
        rows: Some(12),
        bytes: Some(640),
        duration_ms: 40,
        error: None,
        protections: Vec::new(),
    }
}

/// The CPU time this process has used (user and system), from `/proc/self/stat`.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // the fields after the command name, which is in parentheses and may hold spaces
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // clock ticks are 1/100 s on Linux
    Duration::from_millis(ticks * 10)
}
