//! Hostile input: property tests over every parser a user or a client feeds — the statement
//! parser, spec YAML (ODCS, ODPS, domain, Teams, Policy), OpenLineage JSON, schedules, users
//! files — and random or mutated Flight SQL tickets, commands and actions sent to a real server.
//! No input may panic, hang or overflow the stack; each is an answer or an error. The runs are
//! bounded here; `cargo test --test it -- --ignored soak` runs them a hundred times longer.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};

use arrow_flight::sql::{
    Any, CommandStatementIngest, CommandStatementQuery, CommandStatementUpdate, ProstMessageExt,
    TableDefinitionOptions,
};
use arrow_flight::{Action, FlightData, FlightDescriptor, Ticket};
use lakemeta::contracts::{SpecSource, lint};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use prost::Message;
use rand::{Rng, SeedableRng};

/// Cases per property in the suite (the soak multiplies them).
const CASES: u32 = 256;

/// The valid inputs mutations start from: every spec file of the example mesh and the
/// fixtures.
fn spec_corpus() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for dir in [
        "examples/mesh/contracts",
        "examples/mesh/domains",
        "examples/mesh/governance",
        "tests/fixtures/contracts",
        "tests/fixtures/odcs-standard",
        "tests/fixtures/odps",
        "tests/fixtures/odps-standard",
    ] {
        let mut files: Vec<_> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .collect();
        files.sort();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            out.push((f.file_name().unwrap().to_string_lossy().to_string(), text));
        }
    }
    assert!(out.len() > 20, "the corpus is the mesh and the fixtures");
    out
}

/// Statements as users write them, for the statement parser's mutations.
const STATEMENTS: &[&str] = &[
    "SELECT domain, name FROM meta.products WHERE owner = 'orders-team' ORDER BY 2 LIMIT 5;",
    "CREATE DOMAIN sales OWNER 'sales-team' DESCRIPTION 'Sales';",
    "CREATE DATA PRODUCT sales.leads (id BIGINT NOT NULL, email VARCHAR) OWNER 'sales-team';",
    "RUN CHECKS FOR DOMAIN orders;",
    "GRANT SELECT UNMASKED ON orders.orders_fact TO USER bob UNTIL '2027-01-01';",
    "REQUEST SELECT ON orders.orders_fact FOR 30 DAYS REASON 'forecast';",
    "SELECT * FROM impact_analysis('orders.orders_fact', 5);",
    "DESCRIBE PRODUCT orders.orders_fact;",
    "CREATE TABLE orders.big AS SELECT * FROM orders.orders_fact WHERE amount > 10;",
    "WITH r AS (SELECT 1 AS x) SELECT x FROM r UNION ALL SELECT 2; -- two",
    "LINEAGE FROM orders.orders_fact TO users.user_segments;",
];

/// One random edit of `text`: a byte range removed, duplicated or replaced by random bytes
/// (the result read as UTF-8, lossily, as a file would be).
fn mutate(text: &str, seed: u64) -> String {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut bytes = text.as_bytes().to_vec();
    for _ in 0..rng.random_range(1..4) {
        let len = bytes.len().max(1);
        let at = rng.random_range(0..len);
        let span = rng.random_range(0..16).min(bytes.len().saturating_sub(at));
        match rng.random_range(0..4) {
            0 => {
                bytes.drain(at..at + span);
            }
            1 => {
                let copy: Vec<u8> = bytes[at..at + span].to_vec();
                bytes.splice(at..at, copy);
            }
            2 => {
                for b in bytes.iter_mut().skip(at).take(span) {
                    *b = rng.random();
                }
            }
            _ => {
                let tokens: &[&[u8]] = &[
                    b"\n", b": ", b"- ", b"[", b"{", b"'", b"\"", b"&a ", b"*a", b"!!str ", b"\t",
                    b"...", b"---\n", b"~", b"1e999", b"-1", b"\\", b"#",
                ];
                let t = tokens[rng.random_range(0..tokens.len())];
                bytes.splice(at..at, t.iter().copied());
            }
        }
    }
    String::from_utf8_lossy(&bytes).to_string()
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// Text of any characters (including control characters and quotes), up to `max` of them.
fn any_text(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<char>(), 0..max).prop_map(String::from_iter)
}

fn statement_parser(cases: u32) {
    let mut r = runner(cases);
    r.run(&any_text(300), |s| {
        let _ = lakemeta::sql::parse_sql(&s);
        Ok(())
    })
    .unwrap();
    let mut r = runner(cases);
    r.run(&(0..STATEMENTS.len(), any::<u64>()), |(i, seed)| {
        let _ = lakemeta::sql::parse_sql(&mutate(STATEMENTS[i], seed));
        Ok(())
    })
    .unwrap();
}

fn specs(cases: u32) {
    let corpus = spec_corpus();
    let mut r = runner(cases);
    r.run(&(0..corpus.len(), any::<u64>()), |(i, seed)| {
        let (file, text) = &corpus[i];
        let mutated = mutate(text, seed);
        let report = lint(&SpecSource {
            file: file.clone(),
            text: mutated.clone(),
        });
        // a problem points into the file (or just past its end); YAML breaks lines at a lone
        // CR too
        let lines = mutated
            .replace("\r\n", "\n")
            .chars()
            .filter(|c| matches!(c, '\n' | '\r'))
            .count()
            + 1;
        for p in &report.problems {
            prop_assert!(
                p.line <= lines + 1,
                "{file} (seed {seed}): line {} past the end",
                p.line
            );
        }
        Ok(())
    })
    .unwrap();
}

fn openlineage(cases: u32) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let events: Vec<String> =
        std::fs::read_to_string(root.join("examples/openlineage/events.jsonl"))
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
    let mut r = runner(cases);
    r.run(&(0..events.len(), any::<u64>()), |(i, seed)| {
        let _ = lakemeta::lineage::parse_event(&mutate(&events[i], seed));
        Ok(())
    })
    .unwrap();
}

fn schedules(cases: u32) {
    let mut r = runner(cases);
    let fields = prop_oneof![
        Just("*".to_string()),
        Just("L".to_string()),
        Just("5#2".to_string()),
        Just("15W".to_string()),
        (0u64..100_000_000_000).prop_map(|n| n.to_string()),
        (0u32..100, 0u32..100).prop_map(|(a, b)| format!("{a}-{b}")),
        (0u32..100).prop_map(|s| format!("*/{s}")),
        any_text(6),
    ];
    let start = chrono::Utc::now();
    r.run(&proptest::collection::vec(fields, 0..8), |parts| {
        let text = parts.join(" ");
        if let Ok(s) = text.parse::<lakemeta::jobs::Schedule>() {
            let _ = s.next_after(start, start);
        }
        Ok(())
    })
    .unwrap();
    let mut r = runner(cases);
    r.run(&any_text(40), |s| {
        for text in [format!("every {s}"), s.clone()] {
            if let Ok(schedule) = text.parse::<lakemeta::jobs::Schedule>() {
                let _ = schedule.next_after(start, start);
            }
        }
        Ok(())
    })
    .unwrap();
}

fn users_files(cases: u32) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.yaml");
    let valid = "users:\n  - name: alice\n    password_hash: \"$argon2id$v=19$m=19456,t=2,p=1$\
                 c29tZXNhbHQ$5pNu1cUa4KnhAZbR0U2DBVFkfGjnl9MvOczDqKGL3xk\"\ntokens:\n  - name: ci\n\
                 \x20   sha256: \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"\n";
    let mut r = runner(cases);
    r.run(&any::<u64>(), |seed| {
        std::fs::write(&path, mutate(valid, seed)).unwrap();
        let _ = lakemeta::server::Users::load(&path);
        Ok(())
    })
    .unwrap();
}

/// How deep the nesting tests go.
const DEPTH: usize = 100_000;

/// Deeply nested YAML is an error, not a stack overflow.
#[test]
fn deeply_nested_yaml_is_an_error() {
    let yaml = format!(
        "apiVersion: v3.1.0\nkind: DataContract\nid: deep\nversion: 1.0.0\nstatus: active\n\
         customProperties: {}{}\n",
        "[".repeat(DEPTH),
        "]".repeat(DEPTH)
    );
    let report = lint(&SpecSource {
        file: "deep.yaml".into(),
        text: yaml,
    });
    assert!(!report.problems.is_empty());
}

/// Deeply nested JSON is an error, not a stack overflow.
#[test]
fn deeply_nested_json_is_an_error() {
    let json = format!("{}{}", "[".repeat(DEPTH), "]".repeat(DEPTH));
    assert!(lakemeta::lineage::parse_event(&json).is_err());
}

/// Deeply nested SQL is an error, not a stack overflow.
#[test]
fn deeply_nested_sql_is_an_error() {
    let sql = format!("SELECT {}1{}", "(".repeat(DEPTH), ")".repeat(DEPTH));
    assert!(lakemeta::sql::parse_sql(&sql).is_err());
}

#[test]
fn random_and_mutated_input_never_panics() {
    statement_parser(CASES);
    specs(CASES);
    openlineage(CASES);
    schedules(CASES);
    users_files(CASES / 4);
}

/// The long run: `cargo test --test it -- --ignored soak`.
#[test]
#[ignore = "soak: a hundred times the suite's cases"]
fn soak_random_and_mutated_input_never_panics() {
    let cases = CASES * 100;
    statement_parser(cases);
    specs(cases);
    openlineage(cases);
    schedules(cases);
    users_files(cases / 4);
}

/// A request carrying the bearer token.
fn authorized<T>(token: &str, message: T) -> tonic::Request<T> {
    let mut req = tonic::Request::new(message);
    req.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    req
}

/// The seed of a garbage run: `LAKEMETA_GARBAGE_SEED` replays one, printed when it starts.
fn garbage_seed() -> u64 {
    let seed = std::env::var("LAKEMETA_GARBAGE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    eprintln!("flight garbage seed {seed}");
    seed
}

/// Sends `messages` as a `DoPut` and reads its answer to the end.
async fn put(
    c: &mut arrow_flight::sql::client::FlightSqlServiceClient<tonic::transport::Channel>,
    token: &str,
    messages: Vec<FlightData>,
) -> Result<(), tonic::Status> {
    let request = authorized(token, futures::stream::iter(messages));
    let mut answer = c.inner_mut().do_put(request).await?.into_inner();
    while let Some(item) = futures::StreamExt::next(&mut answer).await {
        item?;
    }
    Ok(())
}

/// Random bytes and mutated valid messages as tickets, commands, actions and `DoPut` streams to
/// a real server:
/// each gets an error status (never `internal` from a panic), and the server keeps answering.
async fn flight_garbage(rounds: usize, seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    let (url, _stop) = super::flight::server(dir.path()).await;
    let mut c = super::flight::client(&url).await;
    c.handshake("alice", "wonderland").await.unwrap();
    let mut token = c.token().cloned().unwrap();
    let valid_cmd = CommandStatementQuery {
        query: "SELECT 1".into(),
        transaction_id: None,
    }
    .as_any()
    .encode_to_vec();
    let ingest = CommandStatementIngest {
        table_definition_options: Some(TableDefinitionOptions {
            if_not_exist: arrow_flight::sql::TableNotExistOption::Create.into(),
            if_exists: arrow_flight::sql::TableExistsOption::Append.into(),
        }),
        table: "garbage".into(),
        schema: Some("fuzz".into()),
        ..Default::default()
    }
    .as_any()
    .encode_to_vec();
    super::flight::query(&mut c, "CREATE DOMAIN fuzz OWNER 'fuzzers'")
        .await
        .unwrap();
    let rows = RecordBatch::try_from_iter([
        (
            "id",
            Arc::new(arrow::array::Int64Array::from(vec![1, 2, 3])) as ArrayRef,
        ),
        (
            "name",
            Arc::new(arrow::array::StringArray::from(vec![
                Some("a"),
                None,
                Some("ccc"),
            ])),
        ),
        (
            "tags",
            Arc::new(arrow::array::ListArray::from_iter_primitive::<
                arrow::datatypes::Int32Type,
                _,
                _,
            >(vec![Some(vec![Some(1)]), None, Some(vec![])])),
        ),
    ])
    .unwrap();
    let valid_rows =
        arrow_flight::utils::batches_to_flight_data(&rows.schema(), vec![rows]).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let garbage = |rng: &mut rand::rngs::StdRng| -> Vec<u8> {
        if rng.random_bool(0.5) {
            let n = rng.random_range(0..512);
            (0..n).map(|_| rng.random()).collect()
        } else {
            let text: String = valid_cmd.iter().map(|b| char::from(*b)).collect();
            mutate(&text, rng.random())
                .chars()
                .map(|c| u32::from(c) as u8)
                .collect()
        }
    };
    for round in 0..rounds {
        if round % 100 == 99 {
            // a new token before the old one expires in a long run
            c = super::flight::client(&url).await;
            c.handshake("alice", "wonderland").await.unwrap();
            token = c.token().cloned().unwrap();
        }
        let bytes = garbage(&mut rng);
        let what = format!("seed {seed}, round {round}");
        let not_internal = |status: tonic::Status, call: &str| {
            assert_ne!(
                status.code(),
                tonic::Code::Internal,
                "{what}, {call}: {status}"
            );
        };
        // a command: GetFlightInfo
        let req = authorized(&token, FlightDescriptor::new_cmd(bytes.clone()));
        if let Err(status) = c.inner_mut().get_flight_info(req).await {
            not_internal(status, "GetFlightInfo");
        }
        // a ticket: DoGet
        let req = authorized(&token, Ticket::new(bytes.clone()));
        match c.inner_mut().do_get(req).await {
            Ok(response) => {
                let mut stream = response.into_inner();
                while let Some(item) = futures::StreamExt::next(&mut stream).await {
                    if let Err(status) = item {
                        not_internal(status, "DoGet stream");
                        break;
                    }
                }
            }
            Err(status) => not_internal(status, "DoGet"),
        }
        // an action with a known type and a garbage body
        let kinds = [
            "CreatePreparedStatement",
            "ClosePreparedStatement",
            "BeginTransaction",
            "CancelQuery",
            "nonsense",
        ];
        let action = Action::new(kinds[round % kinds.len()], bytes.clone());
        if let Err(status) = c.inner_mut().do_action(authorized(&token, action)).await {
            not_internal(status, "DoAction");
        }
        // an Any with a known type URL and a garbage value
        let any = Any {
            type_url: "type.googleapis.com/arrow.flight.protocol.sql.CommandPreparedStatementQuery"
                .into(),
            value: bytes.clone().into(),
        };
        let req = authorized(&token, FlightDescriptor::new_cmd(any.encode_to_vec()));
        if let Err(status) = c.inner_mut().get_flight_info(req).await {
            not_internal(status, "GetFlightInfo of a prepared statement");
        }
        // DoPut: garbage as the command, then a good ingest command with garbage as its rows
        let first = FlightData::new().with_descriptor(FlightDescriptor::new_cmd(bytes.clone()));
        if let Err(status) = put(&mut c, &token, vec![first]).await {
            not_internal(status, "DoPut of a garbage command");
        }
        let mut header = bytes.clone();
        header.truncate(bytes.len() / 2);
        let messages = vec![
            FlightData::new()
                .with_descriptor(FlightDescriptor::new_cmd(ingest.clone()))
                .with_data_header(header)
                .with_data_body(bytes[bytes.len() / 2..].to_vec()),
            FlightData::new()
                .with_data_header(bytes.clone())
                .with_data_body(bytes),
        ];
        if let Err(status) = put(&mut c, &token, messages).await {
            not_internal(status, "DoPut of garbage rows");
        }
        // and well-formed rows with a few bytes changed, cut short or lengthened
        let mut messages = valid_rows.clone();
        messages[0] = messages[0]
            .clone()
            .with_descriptor(FlightDescriptor::new_cmd(ingest.clone()));
        let at = rng.random_range(0..messages.len());
        let mut header = messages[at].data_header.to_vec();
        let mut body = messages[at].data_body.to_vec();
        match rng.random_range(0..4) {
            0 => body.truncate(rng.random_range(0..=body.len())),
            1 => header.truncate(rng.random_range(0..=header.len())),
            2 => body.extend((0..rng.random_range(1..64)).map(|_| rng.random::<u8>())),
            _ => {
                for _ in 0..rng.random_range(1..5) {
                    let target = if rng.random_bool(0.5) || body.is_empty() {
                        &mut header
                    } else {
                        &mut body
                    };
                    let i = rng.random_range(0..target.len());
                    target[i] = rng.random();
                }
            }
        }
        messages[at] = messages[at]
            .clone()
            .with_data_header(header)
            .with_data_body(body);
        if let Err(status) = put(&mut c, &token, messages).await {
            not_internal(status, "DoPut of mutated rows");
        }
    }
    // what DoPut cannot start from is the client's fault, and said so
    let lying = Any {
        type_url: CommandStatementUpdate::type_url().into(),
        value: vec![0x0a, 0xff, 0x01].into(),
    };
    let query_any = CommandStatementQuery {
        query: "SELECT 1".into(),
        transaction_id: None,
    }
    .as_any();
    for (messages, expected) in [
        (vec![], "the DoPut stream is empty"),
        (vec![FlightData::new()], "has no flight descriptor"),
        (
            vec![
                FlightData::new().with_descriptor(FlightDescriptor::new_cmd(lying.encode_to_vec())),
            ],
            "is not a Flight SQL message lakemeta can read",
        ),
        (
            vec![
                FlightData::new()
                    .with_descriptor(FlightDescriptor::new_cmd(query_any.encode_to_vec())),
            ],
            "is not a command to DoPut",
        ),
    ] {
        let status = put(&mut c, &token, messages).await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status}");
        assert!(status.message().contains(expected), "{status}");
    }
    // a mutation that still decodes is rows like any others: what was taken reads back whole
    let rows = super::flight::query(&mut c, "SELECT count(*) AS n FROM meta.products")
        .await
        .unwrap();
    if !super::flight::text(&rows).contains("| 0 |") {
        let rows = super::flight::query(&mut c, "SELECT * FROM fuzz.garbage")
            .await
            .unwrap();
        assert!(
            rows.iter().map(|b| b.num_rows()).sum::<usize>() > 0,
            "seed {seed}"
        );
    }
    // still serving
    let rows = super::flight::query(&mut c, "SELECT 41 + 1 AS n")
        .await
        .unwrap();
    assert!(super::flight::text(&rows).contains("| 42 |"), "seed {seed}");
}

#[tokio::test(flavor = "multi_thread")]
async fn garbage_tickets_commands_and_actions_get_errors_and_the_server_serves_on() {
    let seed = garbage_seed();
    flight_garbage(100, seed).await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "soak: three thousand rounds of garbage"]
async fn soak_garbage_tickets_commands_and_actions() {
    let seed = garbage_seed();
    flight_garbage(3_000, seed).await;
}

/// A statement as deep as lakemeta accepts plans and answers on the threads lakemeta runs
/// statements on; a deeper one — a long chain of operators, set operations or joined tables,
/// a tree as deep as it is long that the engine would walk recursively — is refused before it
/// is parsed, with the place and the fix, instead of overflowing the stack and taking the
/// process down.
#[test]
fn a_statement_too_deep_is_refused_and_one_at_the_limit_answers() {
    use lakemeta::model::MAX_STATEMENT_DEPTH as MAX;
    lakemeta::cli::runtime::block_on(|| async {
        let dir = tempfile::tempdir().unwrap();
        let s = super::session(dir.path().join("wh").to_str().unwrap()).await;
        // at the limit: a chain of + in the select list, a chain of OR in a filter
        let terms = MAX - 2;
        let sum = super::scalar(&s, &format!("SELECT 1{} AS n", " + 1".repeat(terms))).await;
        assert_eq!(sum, (terms + 1).to_string());
        let ors: String = (1..MAX / 2 - 2).map(|i| format!(" OR x = {i}")).collect();
        let sql = format!("SELECT count(*) AS n FROM (VALUES (3), (-1)) t(x) WHERE x = 0{ors}");
        assert_eq!(super::scalar(&s, &sql).await, "1");
        // beyond it, by far: refused at the token where the limit is passed
        let chain = format!("SELECT 1{}", " + 1".repeat(200_000));
        let unions = "SELECT 1 UNION ALL ".repeat(50_000) + "SELECT 1";
        let tables = (0..50_000)
            .map(|i| format!("(VALUES (1)) t{i}"))
            .collect::<Vec<_>>();
        let joins = format!("SELECT 1 FROM {}", tables.join(", "));
        for sql in [chain, unions, joins] {
            let e = s.sql(&sql).await.unwrap_err().to_string();
            assert!(
                e.contains("line 1, column") && e.contains(&format!("more than {MAX} levels")),
                "{e}"
            );
        }
        // and still answering
        assert_eq!(super::scalar(&s, "SELECT 41 + 1 AS n").await, "42");
    })
    .unwrap();
}

/// Rows whose Arrow data contradict themselves in ways Arrow's reader panics on (found by the
/// garbage soak): a column said to hold far more rows than its validity bitmap covers, and a
/// field of type NONE. Each is the client's error, and the server takes the next ingest.
#[tokio::test(flavor = "multi_thread")]
async fn rows_that_contradict_themselves_are_refused_and_the_server_serves_on() {
    let dir = tempfile::tempdir().unwrap();
    let (url, _stop) = super::flight::server(dir.path()).await;
    let mut c = super::flight::client(&url).await;
    c.handshake("alice", "wonderland").await.unwrap();
    let token = c.token().cloned().unwrap();
    super::flight::query(&mut c, "CREATE DOMAIN fuzz OWNER 'fuzzers'")
        .await
        .unwrap();
    let ingest = CommandStatementIngest {
        table_definition_options: Some(TableDefinitionOptions {
            if_not_exist: arrow_flight::sql::TableNotExistOption::Create.into(),
            if_exists: arrow_flight::sql::TableExistsOption::Append.into(),
        }),
        table: "contradictions".into(),
        schema: Some("fuzz".into()),
        ..Default::default()
    }
    .as_any()
    .encode_to_vec();
    let rows = RecordBatch::try_from_iter([(
        "n",
        Arc::new(arrow::array::Int64Array::from(vec![Some(7), None, Some(9)])) as ArrayRef,
    )])
    .unwrap();
    let valid = arrow_flight::utils::batches_to_flight_data(&rows.schema(), vec![rows]).unwrap();
    let with_command = |mut messages: Vec<FlightData>| {
        messages[0] = messages[0]
            .clone()
            .with_descriptor(FlightDescriptor::new_cmd(ingest.clone()));
        messages
    };
    let replaced = |bytes: &[u8], from: &[u8], to: &[u8]| -> Vec<u8> {
        let at = bytes
            .windows(from.len())
            .position(|w| w == from)
            .expect("the pattern is in the message");
        let mut out = bytes.to_vec();
        out[at..at + to.len()].copy_from_slice(to);
        out
    };
    // the column's node: 3 rows, 1 null; say 2^40 rows instead
    let node: Vec<u8> = [3i64.to_le_bytes(), 1i64.to_le_bytes()].concat();
    let mut long = valid.clone();
    long[1] = long[1].clone().with_data_header(replaced(
        &long[1].data_header,
        &node,
        &(1i64 << 40).to_le_bytes(),
    ));
    // the field's type: Int (2) in the schema's union tag; NONE is 0
    let mut untyped = valid.clone();
    let header = &untyped[0].data_header;
    let int_type = arrow::ipc::root_as_message(header)
        .unwrap()
        .header_as_schema()
        .unwrap()
        .fields()
        .unwrap()
        .get(0)
        .type_type();
    assert_eq!(int_type, arrow::ipc::Type::Int);
    let tag = header
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == int_type.0)
        .map(|(i, _)| i)
        .find(|&i| {
            let mut h = header.to_vec();
            h[i] = arrow::ipc::Type::NONE.0;
            arrow::ipc::root_as_message(&h).is_ok_and(|m| {
                m.header_as_schema()
                    .and_then(|s| s.fields())
                    .is_some_and(|f| f.get(0).type_type() == arrow::ipc::Type::NONE)
            })
        })
        .expect("the type tag is in the schema message");
    let mut h = header.to_vec();
    h[tag] = arrow::ipc::Type::NONE.0;
    untyped[0] = untyped[0].clone().with_data_header(h);
    for (what, messages) in [
        ("a bitmap too short", long),
        ("a field of type NONE", untyped),
    ] {
        let status = put(&mut c, &token, with_command(messages))
            .await
            .unwrap_err();
        assert_eq!(
            status.code(),
            tonic::Code::InvalidArgument,
            "{what}: {status}"
        );
        assert!(
            status.message().contains("reading the rows"),
            "{what}: {status}"
        );
    }
    put(&mut c, &token, with_command(valid)).await.unwrap();
    let out = super::flight::query(&mut c, "SELECT count(*) AS n FROM fuzz.contradictions")
        .await
        .unwrap();
    assert!(super::flight::text(&out).contains("| 3 |"));
}

/// Over Flight SQL, from a server on a test runtime's ordinary 2 MiB workers: the deep
/// statement is refused (`invalid_argument`, the fix in the message) and the server serves on.
#[tokio::test(flavor = "multi_thread")]
async fn a_statement_too_deep_sent_over_flight_is_refused_and_the_server_serves_on() {
    let dir = tempfile::tempdir().unwrap();
    let (url, _stop) = super::flight::server(dir.path()).await;
    let mut c = super::flight::client(&url).await;
    c.handshake("alice", "wonderland").await.unwrap();
    let chain = format!("SELECT 1{}", " OR true".repeat(300_000));
    let e = super::flight::query(&mut c, &chain).await.unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("InvalidArgument") || text.contains("invalid"),
        "{text}"
    );
    assert!(text.contains("x IN (…)"), "{text}");
    let rows = super::flight::query(&mut c, "SELECT 41 + 1 AS n")
        .await
        .unwrap();
    assert!(super::flight::text(&rows).contains("| 42 |"));
}
