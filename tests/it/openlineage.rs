//! `lakemeta lineage ingest`: OpenLineage events from a file or stdin, through the real binary.

use std::io::Write;
use std::process::Stdio;

const SCHEMA_URL: &str = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent";

fn run_event(job: &str, inputs: &str, outputs: &str) -> String {
    format!(
        r#"{{"eventType":"COMPLETE","eventTime":"2026-11-20T10:00:00Z","producer":"https://example.com/etl","schemaURL":"{SCHEMA_URL}","run":{{"runId":"0195a1b2-0000-7000-8000-00000000000{}"}},"job":{{"namespace":"etl","name":"{job}"}},"inputs":[{inputs}],"outputs":[{outputs}]}}"#,
        job.len() % 10
    )
}

const ORDERS: &str = r#"{"namespace":"postgres://db:5432","name":"shop.orders","facets":{"schema":{"fields":[{"name":"order_id","type":"VARCHAR"},{"name":"total","type":"NUMERIC(10,2)"},{"name":"status","type":"TEXT"}]}}}"#;

fn events() -> String {
    let revenue = r#"{"namespace":"lakemeta","name":"finance.revenue","facets":{"columnLineage":{"fields":{"revenue":{"inputFields":[{"namespace":"postgres://db:5432","name":"shop.orders","field":"total"}]}},"dataset":[{"namespace":"postgres://db:5432","name":"shop.orders","field":"status"}]}}}"#;
    let bad_column = revenue.replace(r#""revenue":{"#, r#""nope":{"#);
    let clicks = r#"{"namespace":"s3://lake","name":"raw/clicks"}"#;
    let orders_out = r#"{"namespace":"postgres://db:5432","name":"shop.orders"}"#;
    [
        run_event("daily_revenue", ORDERS, revenue),
        r#"{"eventTime": "2026-11-20T10:00:00Z", "producer": "#.to_string(),
        run_event("daily_revenue", ORDERS, revenue).replace(r#""name":"daily_revenue""#, r#""title":"x""#),
        // refused: nothing of it stays, not even the product its new input would have made
        run_event(
            "bad",
            r#"{"namespace":"postgres://db:5432","name":"shop.refunds"}"#,
            &bad_column,
        ),
        r#"{"eventTime":"2026-11-20T10:00:00Z","producer":"p","schemaURL":"https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent","dataset":{"namespace":"s3://lake","name":"raw/clicks"}}"#.to_string(),
        String::new(),
        run_event("load_orders", clicks, orders_out),
    ]
    .join("\n")
}

#[test]
fn openlineage_events_become_edges_and_external_products() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let wh = wh.to_str().unwrap();
    let run = |args: &[&str], stdin: Option<&str>| {
        let mut child = super::bin()
            .args(["-w", wh])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
        drop(input);
        let out = child.wait_with_output().unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (code, _, err) = run(
        &[
            "sql",
            "-c",
            "CREATE DOMAIN finance OWNER 'finance-team'; \
             CREATE TABLE finance.revenue AS SELECT 'de' AS country, 1.5 AS revenue",
        ],
        None,
    );
    assert_eq!(code, Some(0), "{err}");
    let file = dir.path().join("events.jsonl");
    // a line that is not UTF-8 is refused like any bad event
    let mut bytes = events().into_bytes();
    bytes.extend(b"\n\xff\xfe not text");
    std::fs::write(&file, bytes).unwrap();
    let file = file.to_str().unwrap();

    let (code, out, err) = run(&["lineage", "ingest", file], None);
    assert_eq!(code, Some(1), "{out}{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 4, "{err}");
    assert!(
        lines[0].starts_with(&format!("{file}:2: not valid JSON")),
        "{err}"
    );
    assert_eq!(
        lines[1],
        format!("{file}:3: missing required field 'job.name'; the event was not loaded")
    );
    assert!(
        lines[2].starts_with(&format!(
            "{file}:4: dataset lakemeta/finance.revenue is product finance.revenue, which has no \
             column 'nope'"
        )),
        "{err}"
    );
    assert_eq!(
        lines[3],
        format!("{file}:8: not UTF-8 text; the event was not loaded")
    );
    assert_eq!(
        out.trim(),
        "loaded 2 events (4 new edges, 2 new products: postgres_db_5432.shop_orders, \
         s3_lake.raw_clicks, 2 new domains: postgres_db_5432, s3_lake); 2 without lineage, 4 \
         refused"
    );

    let query = |sql: &str| {
        let (code, out, err) = run(&["sql", "--format", "csv", "-c", sql], None);
        assert_eq!(code, Some(0), "{err}");
        out
    };
    let edges = query(
        "SELECT source, source_column, target, target_column, kind, statement FROM meta.lineage \
         WHERE kind = 'openlineage' ORDER BY source, target, source_column NULLS FIRST, target_column",
    );
    let expected = [
        "source,source_column,target,target_column,kind,statement",
        "postgres_db_5432.shop_orders,,finance.revenue,,openlineage,\"OpenLineage job etl.daily_revenue, run 0195a1b2-0000-7000-8000-000000000003\"",
        "postgres_db_5432.shop_orders,status,finance.revenue,,openlineage,\"OpenLineage job etl.daily_revenue, run 0195a1b2-0000-7000-8000-000000000003\"",
        "postgres_db_5432.shop_orders,total,finance.revenue,revenue,openlineage,\"OpenLineage job etl.daily_revenue, run 0195a1b2-0000-7000-8000-000000000003\"",
        "s3_lake.raw_clicks,,postgres_db_5432.shop_orders,,openlineage,\"OpenLineage job etl.load_orders, run 0195a1b2-0000-7000-8000-000000000001\"",
    ];
    assert_eq!(edges.lines().collect::<Vec<_>>(), expected, "{edges}");
    // the external product: where it lives, who runs the job, the columns the schema facet gave
    let product = query(
        "SELECT kind, location, owner, array_length(columns) AS n FROM meta.products \
         WHERE name = 'shop_orders'",
    );
    assert_eq!(
        product.lines().nth(1),
        Some("external,postgres://db:5432/shop.orders,etl,3")
    );
    let impact =
        query("SELECT product, depth FROM impact_analysis('s3_lake.raw_clicks') ORDER BY depth");
    assert_eq!(
        impact.lines().collect::<Vec<_>>(),
        [
            "product,depth",
            "postgres_db_5432.shop_orders,1",
            "finance.revenue,2"
        ]
    );
    let columns = query(
        "SELECT product, column_name FROM impact_analysis('postgres_db_5432.shop_orders.total')",
    );
    assert!(columns.contains("finance.revenue,revenue"), "{columns}");

    // again, from stdin: nothing new
    let (code, out, _) = run(&["lineage", "ingest", "-"], Some(&events()));
    assert_eq!(code, Some(1));
    assert!(
        out.starts_with("loaded 2 events (0 new edges); 2 without lineage"),
        "{out}"
    );

    let (code, _, err) = run(&["lineage", "ingest", "/nonexistent/events.jsonl"], None);
    assert_eq!(code, Some(2));
    assert!(err.contains("/nonexistent/events.jsonl"), "{err}");
}

/// The README's example: the events of `examples/openlineage/` load cleanly over the example
/// mesh, and say what the README says.
#[test]
fn the_example_events_load_over_the_example_mesh() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let wh = wh.to_str().unwrap();
    let mesh = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/mesh");
    let events = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/openlineage/events.jsonl"
    );
    let out = super::bin()
        .args(["-w", wh, "apply", mesh])
        .output()
        .unwrap();
    assert!(out.status.success());
    // with the mesh's teams, new domains are an admin's to make
    let out = super::bin()
        .args(["-w", wh, "-u", "admin", "lineage", "ingest", events])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(
        readme.contains(&format!(
            "$ lakemeta --user admin lineage ingest examples/openlineage/events.jsonl\n{stdout}"
        )),
        "the README shows another result than {stdout}"
    );
    let out = super::bin()
        .args([
            "-w",
            wh,
            "sql",
            "--format",
            "csv",
            "-c",
            "SELECT product, column_name, depth FROM \
             impact_analysis('postgres_shop_db_5432.public_orders.total') ORDER BY depth, product",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .collect::<Vec<_>>(),
        [
            "product,column_name,depth",
            "orders.orders_fact,order_total,1",
            "orders.payments_fact,amount,2",
            "users.user_segments,,2",
            "s3_analytics.finance_daily_revenue,revenue,3",
        ]
    );
}
