use serde::{Deserialize, Serialize};

/// An ODPS data product: a product of the mesh that offers contracts (its output ports, the
/// tables lakemeta holds) and reads others (its input ports). One row of `meta.data_products`;
/// its tables say which data product they are a port of in `meta.products.data_product`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OdpsProduct {
    /// The data product's `id`.
    pub id: String,
    /// Its `name` (else its id).
    pub name: String,
    /// Its `version` (empty when it gives none).
    pub version: String,
    /// Its `status` (`proposed`, `draft`, `active`, `deprecated`, `retired`).
    pub status: String,
    /// The lakemeta domain it belongs to.
    pub domain: String,
    /// Its owner team (empty: the domain's owner).
    pub owner_team: String,
    /// The contracts it reads.
    pub input_ports: Vec<PortRow>,
    /// The contracts it offers.
    pub output_ports: Vec<PortRow>,
    /// The ODPS file as applied.
    pub spec: String,
    /// When it was first applied (microseconds, UTC).
    pub created_at: i64,
    /// When it last changed (microseconds, UTC).
    pub updated_at: i64,
    /// The principal that made the last change.
    pub updated_by: String,
}

/// One port of an [`OdpsProduct`]: a named, versioned ODCS contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortRow {
    /// The port's `name`.
    pub name: String,
    /// The port's `version` (empty when it gives none).
    pub version: String,
    /// The ODCS contract id it names (`None`: a port without a contract).
    pub contract_id: Option<String>,
}

impl OdpsProduct {
    /// True when the applied fields are equal (timestamps and author ignored).
    pub fn same_definition(&self, other: &OdpsProduct) -> bool {
        self.id == other.id
            && self.name == other.name
            && self.version == other.version
            && self.status == other.status
            && self.domain == other.domain
            && self.owner_team == other.owner_team
            && self.input_ports == other.input_ports
            && self.output_ports == other.output_ports
            && self.spec == other.spec
    }
}
