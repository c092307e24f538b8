-- job: orders_quality
-- schedule: */15 * * * *
-- description: Checks every product of the orders domain each quarter of an hour; the orders
--   contracts promise data no older than 15 minutes.
RUN CHECKS FOR DOMAIN orders;
