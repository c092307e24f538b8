//! Runs the sqllogictest files in tests/slt/: each file gets a fresh local warehouse in a
//! scratch directory (`__TEST_DIR__` in a file names that directory). Statements run as the
//! principal `slt`; a `connection NAME` record runs the next statement as principal NAME
//! (one session per name, all on the file's catalog), so a file plays several users.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use arrow::util::display::{ArrayFormatter, FormatOptions};
use lakemeta::model::Principal;
use lakemeta::sql::{Session, SessionOptions};
use lakemeta::storage::{Warehouse, WarehouseLocation};
use sqllogictest::{AsyncDB, Connection, DBOutput, DefaultColumnType, Record};

struct Db {
    session: Session,
}

#[derive(Debug)]
struct SltError(String);

impl std::fmt::Display for SltError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SltError {}

#[async_trait::async_trait]
impl AsyncDB for Db {
    type Error = SltError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, SltError> {
        let outputs = self
            .session
            .sql(sql)
            .await
            .map_err(|e| SltError(e.to_string()))?;
        let Some(out) = outputs.into_iter().last() else {
            return Ok(DBOutput::StatementComplete(0));
        };
        if out.schema.fields().is_empty() {
            return Ok(DBOutput::StatementComplete(0));
        }
        let options = FormatOptions::default().with_null("NULL");
        let table_id = regex::Regex::new(r"(/[^/]+)-[0-9a-f]{12}/").unwrap();
        let mut rows = Vec::new();
        for batch in &out.batches {
            let formatters = batch
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| SltError(e.to_string()))?;
            for row in 0..batch.num_rows() {
                rows.push(
                    formatters
                        .iter()
                        .map(|f| {
                            // a managed product's table directory ends in an id of its own
                            let s = table_id
                                .replace_all(&f.value(row).to_string(), "$1-<id>/")
                                .into_owned();
                            if s.is_empty() {
                                "(empty)".to_string()
                            } else {
                                s
                            }
                        })
                        .collect(),
                );
            }
        }
        Ok(DBOutput::Rows {
            types: vec![DefaultColumnType::Any; out.schema.fields().len()],
            rows,
        })
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "lakemeta"
    }

    async fn sleep(dur: std::time::Duration) {
        tokio::time::sleep(dur).await;
    }
}

async fn run_file(path: PathBuf) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let wh_dir = dir.path().join("warehouse");
    let location = WarehouseLocation::parse(wh_dir.to_str().unwrap()).map_err(|e| e.to_string())?;
    let warehouse = Arc::new(Warehouse::open(location).await.map_err(|e| e.to_string())?);
    let session = Session::open(warehouse, SessionOptions::new(Principal::new("slt")))
        .await
        .map_err(|e| e.to_string())?;
    let test_dir = dir.path().to_str().unwrap().to_string();
    setup_fixture(&session, &path, dir.path(), &test_dir).await?;
    let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
    let text = text.replace("__TEST_DIR__", &test_dir);
    // the runner makes a connection the first time a record uses it: hand out the sessions of
    // the principals in that order
    let principals = Arc::new(Mutex::new(connection_order(&text)?));
    let catalog = Arc::clone(session.catalog());
    let mut runner = sqllogictest::Runner::new(move || {
        let name = principals
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| "slt".into());
        let catalog = Arc::clone(&catalog);
        async move {
            let session = Session::with_catalog(catalog, SessionOptions::new(Principal::new(name)))
                .await
                .map_err(|e| SltError(e.to_string()))?;
            Ok::<_, SltError>(Db { session })
        }
    });
    runner
        .run_script_async(&text)
        .await
        .map_err(|e| format!("{}: {}", path.display(), e.display(true)))
}

/// The principals of a file's connections, in the order the runner first uses them (the
/// default connection is `slt`).
fn connection_order(text: &str) -> Result<VecDeque<String>, String> {
    let records = sqllogictest::parse::<DefaultColumnType>(text).map_err(|e| e.to_string())?;
    let mut order = VecDeque::new();
    for r in records {
        let connection = match r {
            Record::Statement { connection, .. } | Record::Query { connection, .. } => connection,
            _ => continue,
        };
        let name = match connection {
            Connection::Default => "slt".to_string(),
            Connection::Named(n) => n,
        };
        if !order.contains(&name) {
            order.push_back(name);
        }
    }
    Ok(order)
}

/// A file `x.slt` may come with a directory `x/` holding `setup.sql` (run first) and ODCS
/// contracts / domain specs (`*.yaml`, applied after it), `__TEST_DIR__` replaced in both.
async fn setup_fixture(
    session: &Session,
    path: &std::path::Path,
    tmp: &std::path::Path,
    test_dir: &str,
) -> Result<(), String> {
    let fixture = path.with_extension("");
    if !fixture.is_dir() {
        return Ok(());
    }
    let setup = fixture.join("setup.sql");
    if setup.is_file() {
        let sql = std::fs::read_to_string(&setup).map_err(|e| e.to_string())?;
        session
            .sql(&sql.replace("__TEST_DIR__", test_dir))
            .await
            .map_err(|e| format!("{}: {e}", setup.display()))?;
    }
    let specs_dir = tmp.join("specs");
    std::fs::create_dir_all(&specs_dir).map_err(|e| e.to_string())?;
    let mut any = false;
    for entry in std::fs::read_dir(&fixture).map_err(|e| e.to_string())? {
        let p = entry.map_err(|e| e.to_string())?.path();
        if p.extension().is_some_and(|e| e == "yaml") {
            let text = std::fs::read_to_string(&p).map_err(|e| e.to_string())?;
            std::fs::write(
                specs_dir.join(p.file_name().unwrap()),
                text.replace("__TEST_DIR__", test_dir),
            )
            .map_err(|e| e.to_string())?;
            any = true;
        }
    }
    if any {
        let specs = lakemeta::contracts::load_path(&specs_dir).map_err(|e| e.to_string())?;
        lakemeta::contracts::apply_specs(
            session.catalog(),
            &specs,
            &session.state(),
            session.principal(),
        )
        .await
        .map_err(|e| format!("{}: {e}", fixture.display()))?;
    }
    Ok(())
}

fn main() {
    let mut files: Vec<PathBuf> = std::fs::read_dir("tests/slt")
        .expect("tests/slt exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .collect();
    files.sort();
    let filter = std::env::args().nth(1).filter(|a| !a.starts_with('-'));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (mut passed, mut failed) = (0, 0);
    for f in files {
        if let Some(flt) = &filter
            && !f.to_string_lossy().contains(flt.as_str())
        {
            continue;
        }
        match runtime.block_on(run_file(f.clone())) {
            Ok(()) => {
                println!("ok   {}", f.display());
                passed += 1;
            }
            Err(e) => {
                println!("FAIL {e}");
                failed += 1;
            }
        }
    }
    println!("slt: {passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}
