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
            // what lakemeta reads back from its own export is the same contract
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
            // the export is written anew, so its text differs; nothing lakemeta reads from it does
            assert_eq!(
                stdout,
                "change,what\nnon-breaking,the contract text changed (nothing lakemeta interprets)\n",
                "{product}: {stdout}"
            );
            assert!(
                stderr.contains(": 0 breaking, 1 non-breaking; apply accepts it"),
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
            && outputs[0].contains("physicalType 'list' is no type lakemeta maps"),
        "{}",
        outputs[0]
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
