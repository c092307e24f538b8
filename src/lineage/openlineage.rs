//! OpenLineage run events (spec 2-0-x), one JSON object per line: what each says about the
//! flow of data between datasets.
//!
//! A run event (or job event) names its job, its input and output datasets, and, in the
//! `columnLineage` facet of an output, which input fields each output field is made from (and,
//! under `dataset`, which input fields shaped the whole output: filters, joins, grouping).
//! Dataset events carry no lineage and are skipped.

use serde_json::{Map, Value};

/// A dataset as OpenLineage names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DatasetId {
    /// Where it lives: `s3://bucket`, `postgres://host:5432`, `lakemeta`, …
    pub namespace: String,
    /// Its name within the namespace: a path or `schema.table`.
    pub name: String,
}

impl std::fmt::Display for DatasetId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// A dataset of an event, with what its facets tell about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Its name.
    pub id: DatasetId,
    /// Its fields (name, type) from the `schema` facet.
    pub fields: Vec<(String, String)>,
    /// The file format from the `storage` facet.
    pub file_format: Option<String>,
}

/// Data of an input field flows into an output field (`to_field` `None`: the field shaped the
/// whole output — a filter, a join key, a grouping).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldFlow {
    /// The input dataset.
    pub from: DatasetId,
    /// The input field.
    pub from_field: String,
    /// The output dataset.
    pub to: DatasetId,
    /// The output field.
    pub to_field: Option<String>,
}

/// What one event says about lineage.
#[derive(Debug, Clone, PartialEq)]
pub struct LineageEvent {
    /// `namespace.name` of the job.
    pub job: String,
    /// The run, for run events.
    pub run_id: Option<String>,
    /// When it happened (microseconds, UTC).
    pub event_time: i64,
    /// The datasets read.
    pub inputs: Vec<Dataset>,
    /// The datasets written.
    pub outputs: Vec<Dataset>,
    /// The `columnLineage` facets of the outputs.
    pub field_flows: Vec<FieldFlow>,
}

/// Parses one line. `Ok(None)`: a blank line or an event without lineage (a dataset event).
/// The error says what is wrong, for a message that adds the line number.
pub fn parse_event(line: &str) -> Result<Option<LineageEvent>, String> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not valid JSON ({e})"))?;
    let event = value
        .as_object()
        .ok_or("not an OpenLineage event: a JSON object is expected")?;
    if let Some(url) = event.get("schemaURL").and_then(Value::as_str)
        && let Some(version) = spec_version(url)
        && !version.starts_with("2-0-")
    {
        return Err(format!(
            "schemaURL names OpenLineage spec {version}; lakemeta reads spec 2-0-x events"
        ));
    }
    let time = text(event, "eventTime")?;
    let event_time = chrono::DateTime::parse_from_rfc3339(time)
        .map_err(|e| format!("eventTime '{time}' is not an ISO 8601 date-time ({e})"))?
        .timestamp_micros();
    text(event, "producer")?;
    if !event.contains_key("job") && event.contains_key("dataset") {
        return Ok(None); // a dataset event: metadata of one dataset, no flow
    }
    let job = object(event, "job", "job")?;
    let job = format!(
        "{}.{}",
        text(job, "namespace").map_err(|m| in_field("job", m))?,
        text(job, "name").map_err(|m| in_field("job", m))?
    );
    let run_id = match event.get("run") {
        None => None, // a job event
        Some(_) => {
            let run = object(event, "run", "run")?;
            Some(
                text(run, "runId")
                    .map_err(|m| in_field("run", m))?
                    .to_string(),
            )
        }
    };
    let inputs = datasets(event, "inputs")?;
    let outputs = datasets(event, "outputs")?;
    let mut field_flows = Vec::new();
    for (i, out) in list(event, "outputs")?.iter().enumerate() {
        let at = format!("outputs[{i}].facets.columnLineage");
        let Some(facet) = out
            .get("facets")
            .and_then(|f| f.get("columnLineage"))
            .filter(|f| !f.is_null())
        else {
            continue;
        };
        let facet = facet
            .as_object()
            .ok_or_else(|| format!("{at} must be an object"))?;
        let to = &outputs[i].id;
        if let Some(fields) = facet.get("fields") {
            let fields = fields
                .as_object()
                .ok_or_else(|| format!("{at}.fields must be an object"))?;
            for (field, spec) in fields {
                let at = format!("{at}.fields.{field}");
                for input in input_fields(spec, "inputFields", &at)? {
                    field_flows.push(FieldFlow {
                        from: input.0,
                        from_field: input.1,
                        to: to.clone(),
                        to_field: Some(field.clone()),
                    });
                }
            }
        }
        for input in input_fields(&Value::Object(facet.clone()), "dataset", &at)? {
            field_flows.push(FieldFlow {
                from: input.0,
                from_field: input.1,
                to: to.clone(),
                to_field: None,
            });
        }
    }
    Ok(Some(LineageEvent {
        job,
        run_id,
        event_time,
        inputs,
        outputs,
        field_flows,
    }))
}

/// `2-0-2` from `https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent`.
fn spec_version(url: &str) -> Option<&str> {
    let rest = url.split("/spec/").nth(1)?;
    let version = rest.split('/').next()?;
    version
        .starts_with(|c: char| c.is_ascii_digit())
        .then_some(version)
}

fn in_field(parent: &str, message: String) -> String {
    message.replacen("field '", &format!("field '{parent}."), 1)
}

/// A required string field.
fn text<'a>(o: &'a Map<String, Value>, key: &str) -> Result<&'a str, String> {
    match o.get(key) {
        None | Some(Value::Null) => Err(format!("missing required field '{key}'")),
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(Value::String(_)) => Err(format!("required field '{key}' is empty")),
        Some(_) => Err(format!("field '{key}' must be a string")),
    }
}

/// A required object field.
fn object<'a>(
    o: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'a Map<String, Value>, String> {
    match o.get(key) {
        None | Some(Value::Null) => Err(format!("missing required field '{path}'")),
        Some(Value::Object(m)) => Ok(m),
        Some(_) => Err(format!("field '{path}' must be an object")),
    }
}

/// An optional list field (absent: empty).
fn list<'a>(o: &'a Map<String, Value>, key: &str) -> Result<&'a [Value], String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(format!("field '{key}' must be a list")),
    }
}

fn dataset_id(v: &Value, at: &str) -> Result<DatasetId, String> {
    let o = v
        .as_object()
        .ok_or_else(|| format!("{at} must be an object"))?;
    let namespace = text(o, "namespace").map_err(|m| in_field(at, m))?;
    let name = text(o, "name").map_err(|m| in_field(at, m))?;
    Ok(DatasetId {
        namespace: namespace.to_string(),
        name: name.to_string(),
    })
}

fn datasets(event: &Map<String, Value>, key: &str) -> Result<Vec<Dataset>, String> {
    let mut out = Vec::new();
    for (i, v) in list(event, key)?.iter().enumerate() {
        let at = format!("{key}[{i}]");
        let id = dataset_id(v, &at)?;
        let facets = v.get("facets");
        let fields = facets
            .and_then(|f| f.get("schema"))
            .and_then(|s| s.get("fields"))
            .and_then(Value::as_array)
            .map(|fields| {
                fields
                    .iter()
                    .filter_map(|f| {
                        let name = f.get("name")?.as_str()?.to_string();
                        let ty = f.get("type").and_then(Value::as_str).unwrap_or("");
                        Some((name, ty.to_string()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let file_format = facets
            .and_then(|f| f.get("storage"))
            .and_then(|s| s.get("fileFormat"))
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase);
        out.push(Dataset {
            id,
            fields,
            file_format,
        });
    }
    Ok(out)
}

/// The `(dataset, field)` entries of a list of input fields.
fn input_fields(spec: &Value, key: &str, at: &str) -> Result<Vec<(DatasetId, String)>, String> {
    let Some(list) = spec.get(key).filter(|v| !v.is_null()) else {
        return Ok(Vec::new());
    };
    let list = list
        .as_array()
        .ok_or_else(|| format!("{at}.{key} must be a list"))?;
    list.iter()
        .enumerate()
        .map(|(j, f)| {
            let at = format!("{at}.{key}[{j}]");
            let id = dataset_id(f, &at)?;
            let field = f
                .get("field")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| format!("missing required field '{at}.field'"))?;
            Ok((id, field.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &str = r#"{"eventType":"COMPLETE","eventTime":"2026-11-20T10:00:00.000Z","producer":"https://example.com/etl","schemaURL":"https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent","run":{"runId":"0195a1b2-0000-7000-8000-000000000001"},"job":{"namespace":"etl","name":"daily_revenue"},"inputs":[{"namespace":"postgres://db:5432","name":"shop.orders","facets":{"schema":{"fields":[{"name":"total","type":"NUMERIC"}]}}}],"outputs":[{"namespace":"lakemeta","name":"finance.revenue","facets":{"columnLineage":{"fields":{"revenue":{"inputFields":[{"namespace":"postgres://db:5432","name":"shop.orders","field":"total"}]}},"dataset":[{"namespace":"postgres://db:5432","name":"shop.orders","field":"status"}]}}}]}"#;

    #[test]
    fn a_run_event_gives_datasets_and_field_flows() {
        let e = parse_event(EVENT).unwrap().unwrap();
        assert_eq!(e.job, "etl.daily_revenue");
        assert_eq!(e.inputs[0].fields, vec![("total".into(), "NUMERIC".into())]);
        assert_eq!(e.outputs[0].id.name, "finance.revenue");
        assert_eq!(e.field_flows.len(), 2);
        assert_eq!(e.field_flows[0].to_field.as_deref(), Some("revenue"));
        assert_eq!(e.field_flows[1].from_field, "status");
        assert_eq!(e.field_flows[1].to_field, None);
    }

    #[test]
    fn bad_events_say_what_is_missing() {
        assert!(
            parse_event("{nope")
                .unwrap_err()
                .starts_with("not valid JSON")
        );
        let no_job = EVENT.replace(r#""name":"daily_revenue""#, r#""nam":"x""#);
        assert_eq!(
            parse_event(&no_job).unwrap_err(),
            "missing required field 'job.name'"
        );
        let no_time = EVENT.replace("eventTime", "time");
        assert_eq!(
            parse_event(&no_time).unwrap_err(),
            "missing required field 'eventTime'"
        );
        let old = EVENT.replace("2-0-2", "1-0-5");
        assert!(parse_event(&old).unwrap_err().contains("spec 1-0-5"));
        let no_field = EVENT.replace(r#","field":"total""#, "");
        assert!(
            parse_event(&no_field)
                .unwrap_err()
                .contains("outputs[0].facets.columnLineage.fields.revenue.inputFields[0].field")
        );
        assert_eq!(parse_event("  ").unwrap(), None);
        let dataset_event = r#"{"eventTime":"2026-11-20T10:00:00Z","producer":"p","dataset":{"namespace":"a","name":"b"}}"#;
        assert_eq!(parse_event(dataset_event).unwrap(), None);
    }
}
