//! Contract versions: breaking changes need a major bump, `contract diff` explains, `contract
//! export` writes ODCS that datacontract-cli's lint accepts.

use std::path::Path;

const MESH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/mesh");

/// A command as the example mesh's platform admin.
fn run(wh: &str, args: &[&str]) -> (i32, String, String) {
    let out = super::bin()
        .args(["-w", wh, "-u", "admin"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn edit(path: &Path, f: impl Fn(String) -> String) {
    let text = std::fs::read_to_string(path).unwrap();
    std::fs::write(path, f(text)).unwrap();
}

#[test]
fn breaking_changes_need_a_major_version_and_every_version_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let wh = wh.to_str().unwrap();
    let specs = dir.path().join("specs");
    std::fs::create_dir_all(&specs).unwrap();
    for f in [
        "domains/orders.yaml",
        "contracts/orders_fact.yaml",
        // orders_fact's user_id references users.user_profiles
        "domains/users.yaml",
        "contracts/user_profiles.yaml",
    ] {
        let src = Path::new(MESH).join(f);
        std::fs::copy(&src, specs.join(src.file_name().unwrap())).unwrap();
    }
    let contract = specs.join("orders_fact.yaml");
    assert_eq!(run(wh, &["apply", specs.to_str().unwrap()]).0, 0);

    // remove a column and loosen the SLA, but only bump the minor version
    edit(&contract, |t| {
        let start = t.find("      - name: user_id").unwrap();
        let end = t.find("      - name: order_total").unwrap();
        format!("{}{}", &t[..start], &t[end..])
            .replace("version: 1.0.0", "version: 1.1.0")
            .replace("    value: 15\n", "    value: 30\n")
    });
    let (code, _, stderr) = run(wh, &["apply", specs.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("orders_fact.yaml:5: version:"), "{stderr}");
    assert!(stderr.contains("makes 2 breaking changes to version 1.0.0 without a major version bump: column 'user_id' removed; freshness SLA loosened from 15 to 30 min; bump the version to 2.0.0"), "{stderr}");
    let history = |wh: &str| {
        run(wh, &["sql", "--format", "csv", "-c", "SELECT version FROM meta.contracts WHERE product = 'orders.orders_fact' ORDER BY created_at"]).1
    };
    assert_eq!(
        history(wh),
        "version\n1.0.0\n",
        "a refused apply records nothing"
    );

    let (code, stdout, stderr) = run(
        wh,
        &[
            "contract",
            "diff",
            contract.to_str().unwrap(),
            "--format",
            "csv",
        ],
    );
    assert_eq!(code, 0);
    assert!(
        stdout.contains("breaking,column 'user_id' removed"),
        "{stdout}"
    );
    // the verdict is a note for people: with a machine format it goes to stderr, not the CSV
    assert!(!stdout.contains("apply refuses it"), "{stdout}");
    assert!(
        stderr.contains("2 breaking, 0 non-breaking; apply refuses it"),
        "{stderr}"
    );

    edit(&contract, |t| t.replace("version: 1.1.0", "version: 2.0.0"));
    assert_eq!(run(wh, &["apply", specs.to_str().unwrap()]).0, 0);
    // a non-breaking edit keeps the version and is still recorded
    edit(&contract, |t| {
        t.replace("Order total in EUR", "Order total in euro")
    });
    let (code, out, err) = run(wh, &["apply", specs.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(history(wh), "version\n1.0.0\n2.0.0\n2.0.0\n");

    let (code, stdout, stderr) = run(
        wh,
        &[
            "contract",
            "diff",
            "orders.orders_fact",
            "1.0.0",
            "2.0.0",
            "--format",
            "csv",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("breaking,freshness SLA loosened from 15 to 30 min"),
        "{stdout}"
    );
    let (_, stdout, _) = run(
        wh,
        &["contract", "diff", "orders.orders_fact", "--format", "csv"],
    );
    assert!(
        stdout.contains("non-breaking,column 'order_total' description changed"),
        "{stdout}"
    );
    let (code, _, stderr) = run(wh, &["contract", "diff", "orders.orders_fact", "9.9.9"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("has no contract version '9.9.9'; its versions: 1.0.0, 2.0.0, 2.0.0"),
        "{stderr}"
    );
}

#[test]
fn exported_contracts_pass_datacontract_lint_and_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let wh = wh.to_str().unwrap();
    assert_eq!(run(wh, &["apply", MESH]).0, 0);
    assert_eq!(
        run(
            wh,
            &[
                "sql",
                "-c",
                "CREATE TABLE orders.adhoc AS SELECT 1 AS id, 'x' AS label"
            ]
        )
        .0,
        0
    );
    let lint = super::support::python_tools().join("datacontract");
    for product in [
        "orders.orders_fact",
        "users.user_profiles",
        "inventory.stock_levels",
        "orders.adhoc",
    ] {
        let file = dir.path().join(format!("{product}.yaml"));
        let (code, _, stderr) = run(
            wh,
            &["contract", "export", product, "-o", file.to_str().unwrap()],
        );
        assert_eq!(code, 0, "{stderr}");
        let out = std::process::Command::new(&lint)
            .args(["lint", file.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "datacontract lint rejects the export of {product}:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        if product != "orders.adhoc" {
            // an applied contract comes back as it was applied: every field, value and comment
            let name = product.split('.').nth(1).unwrap();
            let applied = std::fs::read_to_string(
                Path::new(MESH)
                    .join("contracts")
                    .join(format!("{name}.yaml")),
            )
            .unwrap();
            assert_eq!(
                std::fs::read_to_string(&file).unwrap(),
                applied,
                "{product}"
            );
            let (code, stdout, stderr) = run(
                wh,
                &[
                    "contract",
                    "diff",
                    file.to_str().unwrap(),
                    "--format",
                    "csv",
                ],
            );
            assert_eq!(code, 0, "{stderr}");
            assert_eq!(stdout, "change,what\n", "{product}: {stdout}");
            assert!(
                stderr.contains(": 0 breaking, 0 non-breaking; apply accepts it"),
                "{product}: {stderr}"
            );
        }
    }
}

/// The standard's own example contracts (tests/fixtures/odcs-standard), applied as written with
/// only `--domain` given: the domain, the product name (`Orders Event Stream` becomes
/// `orders_event_stream`), the owner (the domain's) and the types come from the contract, and
/// the plan says what lakemeta read differently.
#[test]
fn the_standards_examples_apply_as_written_with_a_domain() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let wh = wh.to_str().unwrap();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/odcs-standard");
    let loading = [
        "data-types--all-data-types.odcs.yaml",
        "fundamentals--table-column-description.odcs.yaml",
        "quality--column-accuracy.odcs.yaml",
        "quality--column-completeness.odcs.yaml",
        "quality--column-custom.odcs.yaml",
        "quality--column-validity.odcs.yaml",
        "schema--kafka-schema.odcs.yaml",
        "schema--table-column.odcs.yaml",
        "schema--table-columns-with-partition.odcs.yaml",
    ];
    let mut outputs = Vec::new();
    for (i, file) in loading.iter().enumerate() {
        let domain = format!("example_{i}");
        let (code, _, stderr) = run(
            wh,
            &[
                "sql",
                "-c",
                &format!("CREATE DOMAIN {domain} OWNER 'examples-team'"),
            ],
        );
        assert_eq!(code, 0, "{stderr}");
        let path = examples.join(file);
        let (code, stdout, stderr) =
            run(wh, &["apply", path.to_str().unwrap(), "--domain", &domain]);
        assert_eq!(code, 0, "{file}: {stderr}");
        outputs.push(stdout);
    }
    let types = run(
        wh,
        &[
            "sql",
            "--format",
            "csv",
            "-c",
            "SELECT name, data_type FROM meta.columns WHERE product = 'example_0.my_quantum' \
             ORDER BY ordinal",
        ],
    )
    .1;
    assert_eq!(
        types,
        "name,data_type\naccount_id,string\ntxn_ref_date,date\ntxn_timestamp,timestamp\n\
         txn_timestamp_tz,timestamp\ntxn_time,time\namount,double\nage,int\nis_open,boolean\n\
         latest_txns,string\ncustomer_details,string\n"
    );
    assert!(
        outputs[0].contains("note: ")
            && outputs[0].contains("physicalType 'list' is no type lakemeta maps")
            && outputs[0].contains("declares apiVersion v3.0.2 but follows ODCS v3.1.0"),
        "{}",
        outputs[0]
    );
    // another engine's checks are kept, shown, and not run
    let custom = run(
        wh,
        &[
            "sql",
            "--format",
            "csv",
            "-c",
            "SELECT check_name, status, message FROM run_checks('example_4.my_table') \
             WHERE kind = 'custom' ORDER BY check_name",
        ],
    );
    assert_eq!(custom.0, 0, "{}", custom.2);
    let soda = "a check for soda: not run by lakemeta (run it with soda); write it as 'type: sql' \
                for lakemeta to run";
    assert_eq!(
        custom.1,
        format!(
            "check_name,status,message\ncustom(UniqueID),skipped,{soda}\ncustom(UniqueID)_2,skipped,{soda}\n"
        ),
    );
    let kafka = &outputs[6];
    assert!(
        kafka.contains("+ product example_6.orders_event_stream")
            && kafka.contains("data product 'Orders Event Stream' is named orders_event_stream")
            && kafka.contains(
                "example_6.orders_event_stream is owned by examples-team, the owner of domain \
                 example_6"
            ),
        "{kafka}"
    );
    // every owner came from the domain
    let owners = run(
        wh,
        &[
            "sql",
            "--format",
            "csv",
            "-c",
            "SELECT DISTINCT owner FROM meta.products",
        ],
    )
    .1;
    assert_eq!(owners, "owner\nexamples-team\n");

    // without a domain, the error names the flag
    let (code, _, stderr) = run(wh, &["apply", examples.join(loading[1]).to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(
            "names no domain: add 'domain: NAME' to it, or run lakemeta apply \
                         --domain NAME"
        ),
        "{stderr}"
    );
}

/// `contract lint` judges files without a warehouse: the standard's schema, then lakemeta's own
/// reading; every problem with its line and column; exit 1 when any file has one. The standard's
/// examples lint clean except the three that use v3.1.0 fields under `apiVersion: v3.0.2`,
/// which it names with the fix (and `apply` reads as v3.1.0).
#[test]
fn contract_lint_reports_every_problem_at_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "apiVersion: v3.1.0\nkind: DataContract\nid: c1\nversion: 1.0.0\nschema:\n  - name: orders\n    \
         properties:\n      - name: id\n        logicalType: money\n      - name: at\n        \
         logicalType: timestamp\n        logicalTypeOptions:\n          formt: x\n",
    )
    .unwrap();
    let out = super::bin()
        .args(["contract", "lint", bad.to_str().unwrap()])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let f = bad.to_str().unwrap();
    for expected in [
        format!(
            "{f}:1:1: (document): \"status\" is required here by ODCS v3.1.0: add it [required]"
        ),
        format!("{f}:9:9: schema[0].properties[0].logicalType: \"money\" is not one of"),
    ] {
        assert!(stdout.contains(&expected), "{expected}\nin:\n{stdout}");
    }
    assert!(stdout.contains(&format!("{f}:13:")), "{stdout}");
    assert!(stderr.contains("1 file checked:"), "{stderr}");
    // no warehouse was made
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

    // the example mesh is clean
    let out = super::bin()
        .args(["contract", "lint", MESH])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // the standard's examples: three say the wrong version
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/odcs-standard");
    let out = super::bin()
        .args(["contract", "lint", examples.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let wrong: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("[apiVersion]"))
        .collect();
    assert_eq!(wrong.len(), 3, "{stdout}");
    assert!(
        wrong
            .iter()
            .all(|l| l
                .contains("declares v3.0.2 but is valid ODCS v3.1.0: set 'apiVersion: v3.1.0'")),
        "{stdout}"
    );
    // and one names no product at all, which lakemeta needs to attach it to
    let files: std::collections::BTreeSet<&str> =
        stdout.lines().filter_map(|l| l.split(':').next()).collect();
    assert_eq!(files.len(), 4, "{stdout}");
    assert!(
        stdout.contains(
            "server--azure-server.odcs.yaml:1:1: dataProduct: the contract has no schema object \
             and names no data product"
        ),
        "{stdout}"
    );
}

/// A contract of several schema objects is several tables under one contract (one id, one
/// version); a contract without schema object is the contract of a product that exists; a new
/// version cannot silently leave a table out. Inputs: the standard's own examples.
#[test]
fn contracts_of_several_tables_and_of_none() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let wh = wh.to_str().unwrap();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/odcs-standard");
    let example = |f: &str| examples.join(f).to_str().unwrap().to_string();
    let csv = |sql: &str| {
        let (code, out, err) = run(wh, &["sql", "--format", "csv", "-c", sql]);
        assert_eq!(code, 0, "{sql}: {err}");
        out
    };
    for d in ["shapes", "seller", "works", "solo"] {
        let (code, _, err) = run(
            wh,
            &[
                "sql",
                "-c",
                &format!("CREATE DOMAIN {d} OWNER 'examples-team'"),
            ],
        );
        assert_eq!(code, 0, "{err}");
    }

    // three objects, three tables, one contract
    let (code, out, err) = run(
        wh,
        &[
            "apply",
            &example("schema--all-schema-types.odcs.yaml"),
            "--domain",
            "shapes",
        ],
    );
    assert_eq!(code, 0, "{err}");
    for t in ["shapes.tbl", "shapes.anobject", "shapes.anotherobject"] {
        assert!(out.contains(&format!("+ product {t}")), "{out}");
    }
    assert!(
        out.contains("data product 'AnObject' is named anobject in SQL"),
        "{out}"
    );
    assert_eq!(
        csv(
            "SELECT name, contract_id, contract_version FROM meta.products \
             WHERE domain = 'shapes' ORDER BY name"
        ),
        "name,contract_id,contract_version\n\
         anobject,53581432-6c55-4ba2-a65f-72344a91553a,1.0.0\n\
         anotherobject,53581432-6c55-4ba2-a65f-72344a91553a,1.0.0\n\
         tbl,53581432-6c55-4ba2-a65f-72344a91553a,1.0.0\n"
    );
    // the name as written is kept for display
    assert_eq!(
        csv("SELECT name, display_name FROM meta.products WHERE domain = 'shapes' ORDER BY name"),
        "name,display_name\nanobject,AnObject\nanotherobject,AnotherObject\ntbl,\n"
    );
    // each table is queryable and checked
    assert_eq!(csv("SELECT count(*) AS n FROM shapes.anobject"), "n\n0\n");
    for t in ["shapes.tbl", "shapes.anobject", "shapes.anotherobject"] {
        assert_eq!(
            csv(&format!(
                "SELECT count(*) > 0 AS ran FROM run_checks('{t}') WHERE check_name = 'schema'"
            )),
            "ran\ntrue\n"
        );
    }

    // the full example: the contract names its domain, its two tables their names
    let (code, out, err) = run(wh, &["apply", &example("all--full-example.odcs.yaml")]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("+ product seller.tbl") && out.contains("+ product seller.receivers"),
        "{out}"
    );
    // exported by its id, the contract comes back as written
    let (code, exported, err) = run(
        wh,
        &["contract", "export", "53581432-6c55-4ba2-a65f-72344a91553a"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(exported.contains("name: receivers"), "{exported}");

    // a real database's contract: 68 tables
    let (code, out, err) = run(
        wh,
        &[
            "apply",
            &example("all--postgresql-adventureworks-contract.odcs.yaml"),
            "--domain",
            "works",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.matches("+ product works.").count(), 68, "{out}");
    assert_eq!(
        csv("SELECT count(*) AS n FROM meta.products WHERE domain = 'works'"),
        "n\n68\n"
    );

    // no schema object: the contract of a product that exists
    let (code, _, err) = run(
        wh,
        &[
            "apply",
            &example("sla--database-table-sla.odcs.yaml"),
            "--domain",
            "solo",
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("has no schema object")
            && err.contains("solo.my_quantum does not exist: create it first"),
        "{err}"
    );
    assert_eq!(
        run(
            wh,
            &[
                "apply",
                &example("schema--table-column.odcs.yaml"),
                "--domain",
                "solo"
            ]
        )
        .0,
        0
    );
    let columns = || {
        csv(
            "SELECT name, data_type FROM meta.columns WHERE product = 'solo.my_quantum' \
             ORDER BY ordinal",
        )
    };
    let before = columns();
    let (code, out, err) = run(
        wh,
        &[
            "apply",
            &example("sla--database-table-sla.odcs.yaml"),
            "--domain",
            "solo",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("~ product solo.my_quantum")
            && out.contains(
                "it is the contract of solo.my_quantum, whose table, columns and \
                             checks stay as they are"
            ),
        "{out}"
    );
    assert_eq!(columns(), before);
    assert_eq!(
        csv(
            "SELECT contract_id, sla_freshness_minutes FROM meta.products \
             WHERE domain = 'solo'"
        ),
        // latency: 4 d
        "contract_id,sla_freshness_minutes\n53581432-6c55-4ba2-a65f-72344a91553a,5760\n"
    );

    // a new version that leaves a table out is refused, and nothing changes
    let two = dir.path().join("two.yaml");
    let contract = |version: &str, tables: &[&str]| {
        let mut t = format!(
            "apiVersion: v3.1.0\nkind: DataContract\nid: two-tables\nversion: {version}\n\
             status: active\ndomain: solo\nschema:\n"
        );
        for name in tables {
            t.push_str(&format!(
                "  - name: {name}\n    properties:\n      - name: id\n        logicalType: \
                 integer\n        unique: true\n"
            ));
        }
        t
    };
    std::fs::write(&two, contract("1.0.0", &["first", "second"])).unwrap();
    assert_eq!(run(wh, &["apply", two.to_str().unwrap()]).0, 0);
    std::fs::write(&two, contract("2.0.0", &["first"])).unwrap();
    let (code, _, err) = run(wh, &["apply", two.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(
            "version 2.0.0 of contract two-tables no longer describes table solo.second, which \
             version 1.0.0 did: drop it first (DROP DATA PRODUCT solo.second)"
        ),
        "{err}"
    );
    assert_eq!(
        csv(
            "SELECT name, contract_version FROM meta.products WHERE contract_id = 'two-tables' \
             ORDER BY name"
        ),
        "name,contract_version\nfirst,1.0.0\nsecond,1.0.0\n"
    );
    // a breaking change in one table of the contract needs the contract's major version
    std::fs::write(
        &two,
        contract("1.1.0", &["first", "second"]).replacen("        unique: true\n", "", 1),
    )
    .unwrap();
    let (code, _, err) = run(wh, &["apply", two.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("contract of solo.first: version 1.1.0 makes 1 breaking change to version 1.0.0 without a major version bump: column 'id' is no longer unique"),
        "{err}"
    );

    // with the major version, it applies; each version is one row of the contract's history,
    // naming every table it describes
    std::fs::write(
        &two,
        contract("2.0.0", &["first", "second", "third"]).replacen("        unique: true\n", "", 1),
    )
    .unwrap();
    let (code, _, err) = run(wh, &["apply", two.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        csv(
            "SELECT version, array_to_string(products, ' ') AS tables FROM meta.contracts \
             WHERE contract_id = 'two-tables' ORDER BY created_at"
        ),
        "version,tables\n1.0.0,solo.first solo.second\n2.0.0,solo.first solo.second solo.third\n"
    );
    // a table's history is the contract's versions that describe it
    assert_eq!(
        run(wh, &["contract", "diff", "solo.second", "--format", "csv"]).1,
        "change,what\nnon-breaking,the contract text changed (nothing lakemeta interprets)\n"
    );
    // by the contract's id, the diff covers every table
    let (code, out, err) = run(wh, &["contract", "diff", "two-tables", "--format", "csv"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("breaking,solo.first: column 'id' is no longer unique")
            && out.contains("non-breaking,table solo.third added"),
        "{out}"
    );
    assert!(
        err.contains(
            "contract two-tables 1.0.0 -> 2.0.0: 1 breaking, 2 non-breaking; apply accepts it"
        ),
        "{err}"
    );
    let (code, _, err) = run(wh, &["contract", "diff", "two-tables", "0.9.0"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(
            "contract two-tables has no contract version '0.9.0'; its versions: 1.0.0, 2.0.0"
        ),
        "{err}"
    );
    let (code, _, err) = run(wh, &["contract", "diff", "no-such-contract"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("no-such-contract") && err.contains("a contract id"),
        "{err}"
    );
}

/// A contract of our own with every construct (tests/fixtures/contracts/every-construct.odcs.yaml):
/// the standard's schema and datacontract-cli's lint accept it; it applies as two tables; each
/// quality kind and operator runs (or is reported as not run by lakemeta, naming the engine);
/// and it comes back from `contract export` as written.
#[test]
fn every_construct_applies_runs_and_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let wh = wh.to_str().unwrap();
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/contracts/every-construct.odcs.yaml");
    let path = file.to_str().unwrap();
    let csv = |sql: &str| {
        let (code, out, err) = run(wh, &["sql", "--format", "csv", "-c", sql]);
        assert_eq!(code, 0, "{sql}: {err}");
        out
    };
    let out = super::bin()
        .args(["contract", "lint", path])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let lint = std::process::Command::new(super::support::python_tools().join("datacontract"))
        .args(["lint", path])
        .output()
        .unwrap();
    assert!(
        lint.status.success(),
        "{}",
        String::from_utf8_lossy(&lint.stdout)
    );

    let (code, _, err) = run(wh, &["sql", "-c", "CREATE DOMAIN shop OWNER 'sales-team'"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(wh, &["apply", path]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("+ product shop.orders") && out.contains("+ product shop.order_lines"),
        "{out}"
    );
    assert!(
        out.contains("physicalType 'VARIANT' is no type lakemeta maps"),
        "{out}"
    );
    assert_eq!(
        csv(
            "SELECT name, data_type FROM meta.columns WHERE product = 'shop.orders' \
             ORDER BY ordinal"
        ),
        // Postgres, Snowflake/Oracle, SQL Server, MySQL, BigQuery, Spark, Trino types; nested
        // properties and items; VARIANT read as text
        "name,data_type\norder_id,string\ncustomer_id,\"decimal(38,0)\"\namount,\"decimal(10,2)\"\n\
         status,string\nordered_at,timestamp\norder_date,date\nitem_count,uint32\nscore,double\n\
         attributes,\"struct<channel: string, campaign: string>\"\nlabels,array<string>\n\
         counters,\"map<string, int>\"\nshipping,\"struct<city: string, zip: string>\"\n\
         history,\"array<struct<at: timestamp, state: string>>\"\n\
         region,\"struct<code: string, name: string>\"\npayload,string\n"
    );
    let (code, _, err) = run(
        wh,
        &[
            "sql",
            "-c",
            "INSERT INTO shop.orders (order_id, customer_id, amount, status, ordered_at, \
             item_count) VALUES \
             ('o-000001', 1, 10.5, 'open', now(), 1), \
             ('o-000002', 2, NULL, 'paid', now(), 2), \
             ('o-000003', 3, -7.25, 'lost', now(), 3); \
             INSERT INTO shop.order_lines VALUES ('o-000001', 1, 2), ('o-000001', 2, 9)",
        ],
    );
    assert_eq!(code, 0, "{err}");
    // every kind and operator: the optional columns left empty fail the SLA's completeness
    // (90 %), the negative amount fails the SQL check and the range, the text and the other
    // engine's checks are not run
    assert_eq!(
        csv("SELECT check_name, kind, status FROM run_checks('shop.orders') ORDER BY check_name"),
        "check_name,kind,status\n\
         accepted_values(status),accepted_values,pass\n\
         commit_freshness,commit_freshness,pass\n\
         completeness(amount),completeness,pass\n\
         completeness(attributes),completeness,fail\n\
         completeness(counters),completeness,fail\n\
         completeness(history),completeness,fail\n\
         completeness(item_count),completeness,pass\n\
         completeness(labels),completeness,fail\n\
         completeness(order_date),completeness,fail\n\
         completeness(payload),completeness,fail\n\
         completeness(region),completeness,fail\n\
         completeness(score),completeness,fail\n\
         completeness(shipping),completeness,fail\n\
         completeness(status),completeness,pass\n\
         custom,custom,skipped\n\
         freshness(ordered_at),freshness,pass\n\
         length(order_id),length,pass\n\
         no_negative_amounts,sql,fail\n\
         not_null(amount),not_null,pass\n\
         not_null(customer_id),not_null,pass\n\
         not_null(item_count),not_null,pass\n\
         not_null(order_id),not_null,pass\n\
         not_null(ordered_at),not_null,pass\n\
         not_too_many_orders,row_count,pass\n\
         pattern(order_id),pattern,pass\n\
         range(amount),range,fail\n\
         range(order_date),range,pass\n\
         range(ordered_at),range,pass\n\
         row_count,row_count,pass\n\
         schema,schema,pass\n\
         text(status),text,skipped\n\
         unique(order_id),unique,pass\n"
    );
    assert_eq!(
        csv(
            "SELECT check_name, observed, message FROM run_checks('shop.orders') WHERE check_name \
             IN ('no_negative_amounts', 'not_null(amount)', 'accepted_values(status)', \
             'completeness(amount)', 'custom') ORDER BY check_name"
        ),
        "check_name,observed,message\naccepted_values(status),1,\ncompleteness(amount),1,\n\
         custom,,a check for greatExpectations: not run by lakemeta (run it with \
         greatExpectations); write it as 'type: sql' for lakemeta to run\n\
         no_negative_amounts,1,\"observed 1, expected = 0\"\nnot_null(amount),33.3333%,\n"
    );
    assert_eq!(
        csv(
            "SELECT check_name, kind, status, observed FROM run_checks('shop.order_lines') \
             WHERE kind <> 'freshness' AND kind <> 'commit_freshness' ORDER BY check_name"
        ),
        // the table-level duplicateValues of (order_id, line_no) runs as a composite key
        "check_name,kind,status,observed\naccepted_values(quantity),accepted_values,pass,1\n\
         completeness(quantity),completeness,pass,0%\nnot_null(line_no),not_null,pass,0\n\
         not_null(order_id),not_null,pass,0\nschema,schema,pass,0 differences\n\
         unique,unique,pass,0\n"
    );

    // the contract comes back as written, by either table or by its id
    for target in ["shop.orders", "shop.order_lines", "every-construct"] {
        let (code, exported, err) = run(wh, &["contract", "export", target]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            exported,
            std::fs::read_to_string(&file).unwrap(),
            "{target}"
        );
    }
    let (code, stdout, stderr) = run(wh, &["contract", "diff", path, "--format", "csv"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "change,what\n");
    assert!(
        stderr.contains("contract every-construct 1.0.0 -> 1.0.0: 0 breaking, 0 non-breaking"),
        "{stderr}"
    );
}

/// An ODPS data product over the example mesh (tests/fixtures/odps/checkout.odps.yaml): its
/// output ports' contracts name the tables that are its ports, its input ports become declared
/// lineage, `meta.products` and `DESCRIBE PRODUCT` show the ports, and `product export --format
/// odps` gives the file back (or writes one dataproduct-cli's lint accepts).
#[test]
fn odps_data_products_apply_show_their_ports_and_export() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let wh = wh.to_str().unwrap();
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/odps/checkout.odps.yaml");
    let path = file.to_str().unwrap();
    let csv = |sql: &str| {
        let (code, out, err) = run(wh, &["sql", "--format", "csv", "-c", sql]);
        assert_eq!(code, 0, "{sql}: {err}");
        out
    };
    let lint = super::support::python_tools().join("dataproduct");
    let dataproduct_lint = |f: &str| {
        let out = std::process::Command::new(&lint)
            .args(["lint", "--no-resolve-references", f])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "dataproduct lint refuses {f}:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    };
    dataproduct_lint(path);
    let out = super::bin()
        .args(["contract", "lint", path])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");

    assert_eq!(run(wh, &["apply", MESH]).0, 0);
    let (code, out, err) = run(wh, &["apply", path]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("~ product orders.orders_fact")
            && out.contains("~ product orders.payments_fact")
            && out.contains("+ lineage users.user_profiles -> orders.orders_fact")
            && out.contains("+ lineage users.user_profiles -> orders.payments_fact")
            && out.contains(
                "inputPorts[1]: input port crm_accounts (2.0.0) names contract 'crm-accounts', \
                 which no product here has: kept, no lineage recorded"
            ),
        "{out}"
    );
    assert!(
        out.contains(
            "+ data product checkout (Checkout 1.2.0, active, 2 input ports, 2 output ports)"
        ),
        "{out}"
    );
    // the data product itself is a row of meta.data_products
    let data_products = || {
        csv("SELECT id, name, version, status, domain, owner_team, \
             cardinality(input_ports) AS inputs, output_ports[1]['contract_id'] AS first_output \
             FROM meta.data_products ORDER BY id")
    };
    assert_eq!(
        data_products(),
        "id,name,version,status,domain,owner_team,inputs,first_output\n\
         checkout,Checkout,1.2.0,active,orders,orders-team,2,orders-orders_fact\n"
    );
    let ports = || {
        csv("SELECT domain, name, data_product, output_port, \
             array_to_string(input_ports, ' ') AS input_ports FROM meta.products \
             WHERE data_product IS NOT NULL ORDER BY name")
    };
    assert_eq!(
        ports(),
        "domain,name,data_product,output_port,input_ports\n\
         orders,orders_fact,checkout,orders (1.0.0),users-user_profiles crm-accounts\n\
         orders,payments_fact,checkout,payments (1.0.0),users-user_profiles crm-accounts\n"
    );
    let describe = csv("DESCRIBE PRODUCT orders.orders_fact");
    assert!(
        describe.contains("data_product,checkout\n")
            && describe.contains("output_port,orders (1.0.0)\n"),
        "{describe}"
    );
    // again: nothing to do; the contract applied again keeps its port
    let again = run(wh, &["apply", path]).1;
    assert!(again.starts_with("no changes\nnote: "), "{again}");
    let (code, out, err) = run(
        wh,
        &["apply", &format!("{MESH}/contracts/orders_fact.yaml")],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("no changes"), "{out}");

    // the file comes back as written; a product of no ODPS file is written as one
    let (code, exported, err) = run(
        wh,
        &[
            "product",
            "export",
            "orders.orders_fact",
            "--format",
            "odps",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(exported, std::fs::read_to_string(&file).unwrap());
    let written = dir.path().join("user_segments.odps.yaml");
    let (code, _, err) = run(
        wh,
        &[
            "product",
            "export",
            "users.user_segments",
            "-o",
            written.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&written).unwrap();
    assert!(
        text.contains("contractId: users-user_segments") && text.contains("inputPorts:"),
        "{text}"
    );
    dataproduct_lint(written.to_str().unwrap());

    // a port left out: its table is no longer the data product's
    let edited = dir.path().join("checkout.odps.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    let cut = text.find("  - name: payments\n").unwrap();
    let end = text.find("customProperties:").unwrap();
    std::fs::write(&edited, format!("{}{}", &text[..cut], &text[end..])).unwrap();
    let (code, out, err) = run(wh, &["apply", edited.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("- lineage users.user_profiles -> orders.payments_fact")
            && out.contains("~ data product checkout: output ports [orders: orders-orders_fact]"),
        "{out}"
    );
    // exported by its id, the data product is the file last applied
    let (code, exported, err) = run(wh, &["product", "export", "checkout"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(exported, std::fs::read_to_string(&edited).unwrap());
    assert_eq!(
        ports(),
        "domain,name,data_product,output_port,input_ports\n\
         orders,orders_fact,checkout,orders (1.0.0),users-user_profiles crm-accounts\n"
    );

    // a data product whose ports name no contract (no table behind it yet) is recorded too
    let planned = dir.path().join("web-analytics.odps.yaml");
    std::fs::write(
        &planned,
        "apiVersion: v1.0.0\nkind: DataProduct\nid: web-analytics\nname: Web analytics\n\
         status: proposed\ndomain: users\noutputPorts:\n  - name: clicks\n    version: 0.1.0\n",
    )
    .unwrap();
    let (code, out, err) = run(wh, &["apply", planned.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            "+ data product web-analytics (Web analytics, proposed, 0 input ports, 1 output port)"
        ) && out.contains("output port clicks (0.1.0) names no contract (contractId): kept"),
        "{out}"
    );
    assert_eq!(
        csv(
            "SELECT id, status, owner_team, output_ports[1]['name'] AS port, \
             output_ports[1]['contract_id'] IS NULL AS no_contract FROM meta.data_products \
             WHERE id = 'web-analytics'"
        ),
        "id,status,owner_team,port,no_contract\nweb-analytics,proposed,growth-team,clicks,true\n"
    );
    // one that names no domain, and has no table to take one from, is refused; nothing written
    std::fs::write(
        &planned,
        "apiVersion: v1.0.0\nkind: DataProduct\nid: nowhere\nstatus: draft\n",
    )
    .unwrap();
    let (code, _, err) = run(wh, &["apply", planned.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("data product nowhere names no domain: add `domain:` to the file, or apply it with --domain D"),
        "{err}"
    );
    assert_eq!(
        csv("SELECT count(*) AS n FROM meta.data_products WHERE id = 'nowhere'"),
        "n\n0\n"
    );

    // a contract that names no domain and no team, applied with the data product whose output
    // port it is, takes the data product's (its domain as a SQL name)
    let together = dir.path().join("shipping");
    std::fs::create_dir(&together).unwrap();
    std::fs::write(
        together.join("shipping.odps.yaml"),
        "apiVersion: v1.0.0\nkind: DataProduct\nid: shipping\nstatus: active\ndomain: Orders\n\
         team:\n  name: growth-team\noutputPorts:\n  - name: shipments\n    version: 1.0.0\n\
         \x20   contractId: shipments-contract\n",
    )
    .unwrap();
    std::fs::write(
        together.join("shipments.yaml"),
        "apiVersion: v3.1.0\nkind: DataContract\nid: shipments-contract\nversion: 1.0.0\n\
         status: active\nschema:\n  - name: shipments\n    properties:\n      - name: id\n\
         \x20       logicalType: integer\n",
    )
    .unwrap();
    let (code, out, err) = run(wh, &["apply", together.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    for expected in [
        "+ product orders.shipments",
        "domain 'Orders' is named orders in SQL",
        "domain orders from data product shipping, whose output port the contract is (the \
         contract names no domain)",
        "owner team growth-team from data product shipping, whose output port the contract \
         is (the contract names no team)",
    ] {
        assert!(out.contains(expected), "{expected}\nin:\n{out}");
    }
    assert_eq!(
        csv(
            "SELECT owner, data_product, output_port FROM meta.products \
             WHERE name = 'shipments'"
        ),
        "owner,data_product,output_port\ngrowth-team,shipping,shipments (1.0.0)\n"
    );

    // a domain's ODPS data products go with it, and only with CASCADE
    let (code, _, err) = run(wh, &["sql", "-c", "DROP DOMAIN users"]);
    assert_ne!(code, 0);
    assert!(err.contains("ODPS data product web-analytics"), "{err}");
    let (code, _, err) = run(wh, &["sql", "-c", "DROP DOMAIN users CASCADE"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        csv("SELECT id FROM meta.data_products ORDER BY id"),
        "id\ncheckout\nshipping\n"
    );
}

/// The standard's own ODPS examples (tests/fixtures/odps-standard/), as published: each is
/// judged by the version it declares (v0.9.0), and the v1.0.0 customer example, which declares
/// v0.9.0 but uses v1.0.0's `team` object, is told which version it follows — the one `apply`
/// reads it as.
#[test]
fn the_standards_odps_examples_are_judged_by_the_version_they_follow() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/odps-standard");
    for (file, valid) in [
        ("v0.9.0--examples--simple-data-product.odps.yaml", true),
        ("v0.9.0--examples--customer-data-product.odps.yaml", true),
        ("docs--examples--simple-data-product.odps.yaml", true),
        ("docs--examples--customer-data-product.odps.yaml", false),
    ] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let report = lakemeta::contracts::lint(&lakemeta::contracts::SpecSource {
            file: file.into(),
            text,
        });
        if valid {
            assert!(report.problems.is_empty(), "{file}: {:?}", report.problems);
        } else {
            let first = &report.problems[0];
            assert_eq!(
                (first.line, first.field.as_str()),
                (1, "apiVersion"),
                "{file}"
            );
            assert!(
                first.message.contains("is valid ODPS v1.0.0")
                    && first.message.contains("lakemeta apply reads it as v1.0.0"),
                "{file}: {}",
                first.message
            );
        }
    }
}
