//! Writing grants and access requests: one commit per table, requests first (the request's
//! decision is the row two deciders race for), then the grants the decision makes.

use super::snapshot::Catalog;
use crate::error::Result;
use crate::model::{AccessRequest, Grant};
use crate::storage::{Keyed, RowChange, SystemTableKind};

impl Keyed for Grant {
    fn key(&self) -> String {
        self.grant_id.clone()
    }
}

impl Keyed for AccessRequest {
    fn key(&self) -> String {
        self.request_id.clone()
    }
}

impl Catalog {
    /// Commits changes to access requests, then to grants, each checked against the rows as
    /// the caller read them (a request another decider changed meanwhile is a conflict and
    /// nothing is written), and reloads the snapshot so the next statement sees them.
    pub async fn commit_access(
        &self,
        requests: &[RowChange<AccessRequest>],
        grants: &[RowChange<Grant>],
    ) -> Result<()> {
        let _writing = self.begin_write();
        let warehouse = self.warehouse();
        warehouse
            .table(SystemTableKind::AccessRequests)
            .apply_changes(requests)
            .await?;
        let result = warehouse
            .table(SystemTableKind::Grants)
            .apply_changes(grants)
            .await;
        self.reload().await?;
        result.map(|_| ())
    }
}
