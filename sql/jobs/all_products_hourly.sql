-- job: all_products_hourly
-- schedule: @hourly
-- description: Checks every product that has a contract, at the top of each hour.
RUN CHECKS;
