-- job: maintain_nightly
-- schedule: 0 3 * * *
-- description: Compacts and vacuums every managed product (and, run by a platform admin, the
--   system tables) at three in the morning: OPTIMIZE, then VACUUM with each table's retention.
MAINTAIN;
