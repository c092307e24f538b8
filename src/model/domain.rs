use serde::{Deserialize, Serialize};

/// A business area that owns its data end to end. One row of `meta.domains`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Domain {
    /// Domain name; also the SQL schema of its data products.
    pub name: String,
    /// The team that owns the domain.
    pub owner_team: String,
    /// What the domain is about.
    pub description: String,
    /// Domains this one reads from, as declared in its spec.
    pub upstream: Vec<String>,
    /// Domains (or consumers outside the mesh) that read from this one, as declared.
    pub downstream: Vec<String>,
    /// When the domain was created (microseconds, UTC).
    pub created_at: i64,
    /// When the domain last changed (microseconds, UTC).
    pub updated_at: i64,
    /// The principal that made the last change.
    pub updated_by: String,
    /// The storage policy of its managed products that set none of their own: days VACUUM
    /// keeps the files older versions need.
    #[serde(default)]
    pub retention_days: Option<i64>,
    /// The storage policy of its managed products that set none of their own: the size
    /// OPTIMIZE compacts files to, in bytes.
    #[serde(default)]
    pub target_file_size: Option<i64>,
}

impl Domain {
    /// A domain owned by `owner_team`, with no description, declared neighbours or storage
    /// policy; [`crate::catalog::Catalog::commit`] stamps its times and author.
    pub fn new(name: impl Into<String>, owner_team: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            owner_team: owner_team.into(),
            description: String::new(),
            upstream: vec![],
            downstream: vec![],
            created_at: 0,
            updated_at: 0,
            updated_by: String::new(),
            retention_days: None,
            target_file_size: None,
        }
    }

    /// True when the user-declared fields are equal (timestamps and author ignored).
    pub fn same_definition(&self, other: &Domain) -> bool {
        self.name == other.name
            && self.owner_team == other.owner_team
            && self.description == other.description
            && self.upstream == other.upstream
            && self.downstream == other.downstream
            && self.retention_days == other.retention_days
            && self.target_file_size == other.target_file_size
    }
}
