// Help texts of every command, in one place (kpi --help, kpi <command> --help, usage errors).

export const USAGE = `kpi — exact e-commerce KPIs from CSV drops (S3 + DynamoDB, or local)

Usage: kpi <command> [options]

Commands:
  compute DIR [--json]        KPIs of DIR/{orders,order_items,products}/*.csv, no AWS
  generate DIR --items N      write deterministic TheLook-shaped CSVs (--seed S, --dirty RATE)
  local                       run the embedded S3 + DynamoDB stack and the event-driven pipeline
  start                       local stack + upload data/ + print KPIs, then stop (what npm start runs)
  upload DIR                  upload a folder into the landing zone of the configured bucket
  query category NAME         KPIs of one category, from the configured table
  query date YYYY-MM-DD       KPIs of one day, from both tables
  run                         container entry point: process the triggering event (or the landing zone)
  verify                      recompute from archive/ and compare with the tables and the lake (exit 1 on a difference)
  rebuild                     recompute the state, the lake and the tables from archive/, then verify
  dashboard [--port P]        serve the KPI dashboard on 127.0.0.1 (the configured tables)
  report --out FILE.html      write the dashboard as one self-contained HTML file

Run 'kpi <command> --help' for a command's options.
Configuration comes from the environment: AWS_ENDPOINT_URL, AWS_REGION, KPI_BUCKET,
KPI_CATEGORY_TABLE (default category_kpi_table), KPI_ORDER_TABLE (default order_kpi_table).`;

export const HELP: Record<string, string> = {
  compute: `Usage: kpi compute DIR [--json] [--rejected FILE]

Reads DIR/products/*.csv, DIR/orders/*.csv and DIR/order_items/*.csv (each in file name order,
later files upserting earlier ones), applies every row rule, joins, and prints both KPI tables.
  --json              one JSON object {category_kpis, order_kpis, rejected}
  --rejected FILE     also write every rejected row (original columns + reason, file, line) as CSV`,
  generate: `Usage: kpi generate DIR --items N [--seed S] [--dirty RATE] [--part-rows R] [--id-style S]

Writes DIR/{products,orders,order_items}/*.csv: deterministic for a given seed, TheLook-shaped,
items referring to orders in other part files, a late corrections file that upserts some orders.
  --items N           number of order items (required)
  --seed S            random seed (default 1)
  --dirty RATE        share of rows given a defect of some SPEC reason, 0..1 (default 0)
  --part-rows R       rows per order/item part file (default items/8)
  --id-style S        decimal (default), uuid, prefixed (ORD-00000042) or bigint (past 10^9)`,
  local: `Usage: kpi local [--dir DIR] [--port PORT]

Starts the embedded stack in the foreground: one endpoint on 127.0.0.1 serving an S3-compatible
API (s3rver) and a DynamoDB-compatible API (dynalite), the bucket and both KPI tables, and the
pipeline: every object created under ecommerce-data/ is validated and the KPIs recomputed.
Prints the variables to export so that the AWS CLI, kpi upload and kpi query reach it.
State persists in DIR between starts. Ctrl-C stops it. The KPI tables are reconciled at start
and every --reconcile-seconds (as the schedule rule does on AWS): held items expire, a run killed
half-way or a deleted table is repaired.
  --dir DIR           state folder (default .kpi-local in the current folder)
  --port PORT         port of the endpoint, 0-65535 (default 4566)
  --dashboard-port P  port of the KPI dashboard it serves too (default PORT + 1, i.e. 4567)
  --reconcile-seconds S  interval of the reconciling transform (default $KPI_RECONCILE_SECONDS or 900; 0: only at start)`,
  start: `Usage: kpi start [--dir DIR] [--port PORT] [--data DIR]

The whole job in one command (what 'npm start' runs): starts the embedded stack, uploads the
data folder with the same code as 'kpi upload', waits until the pipeline is idle, prints both KPI
tables from the local DynamoDB and where to look next, then stops. State stays for kpi local.
  --data DIR          folder to upload (default data)
  --dir DIR           state folder (default .kpi-local)
  --port PORT         port (default 0: any free port)`,
  upload: `Usage: kpi upload DIR [--wait] [--wait-seconds S]

Uploads DIR/{orders,order_items,products}/* to s3://$KPI_BUCKET/ecommerce-data/<entity>/<file>,
on AWS or on the local stack (AWS_ENDPOINT_URL). Progress on stderr.
  --wait            then wait until the pipeline has applied them (landing zone empty, nothing
                    pending): their KPIs are in the tables. Exit 1 if not within --wait-seconds.
  --wait-seconds S  how long --wait waits (default 600)`,
  query: `Usage: kpi query category NAME [--json]
       kpi query date YYYY-MM-DD [--json]

The seed's two queries: all days of one category from $KPI_CATEGORY_TABLE, or one day from
$KPI_ORDER_TABLE.`,
  run: `Usage: kpi run

The container entry point. Reads the environment:
  KPI_STAGE           validate | transform | verify (default: validate, then transform in the same task
                      unless KPI_EVENT_BUS is set, in which case an event hands over to transform)
  KPI_S3_KEY          the object to validate (set by the EventBridge rule's input transformer);
                      without it the whole landing zone is processed
  KPI_DEADLINE_SECONDS  stop cleanly and exit 3 after this long (default 900)
  KPI_HOLD_SECONDS    how long items wait for their order/product before err/unmatched/ (3600)
  KPI_REJECT_ALERT_SHARE  alert when a file's rejected share passes this (0.05)
  KPI_ALERT_TOPIC_ARN SNS topic for alerts (printed to stderr when unset)
Exit codes: 0 done, 1 failed, 3 deadline reached (a rerun finishes the work).`,
  dashboard: `Usage: kpi dashboard [--port PORT] [--refresh-seconds S]

Serves the KPI dashboard on http://127.0.0.1:PORT/ (default 4567): headline figures, daily revenue,
orders and return rate, revenue by category, data quality, with a date range and a category
filter. The page's data is /api/dashboard (JSON), read server-side from $KPI_CATEGORY_TABLE and
$KPI_ORDER_TABLE (and state/quality.json in $KPI_BUCKET when set), with the same environment as
kpi query: the browser never holds AWS credentials. The page refreshes itself every S seconds (5).`,
  report: `Usage: kpi report --out FILE.html

Writes the dashboard as one self-contained HTML file (data, charts and script inlined): it opens
from disk with no network, for e-mail or an S3 static bucket.`,
  verify: `Usage: kpi verify

Recomputes every KPI from the validated zone (validated/: every archived file's valid rows, as
Parquet) and compares them with $KPI_CATEGORY_TABLE, $KPI_ORDER_TABLE and curated/joined_items/ in
$KPI_BUCKET, holding the transform's lease meanwhile (files still pending are left out). Prints
each difference (table or lake, key, what differs), alerts, and exits 1 when there is any; 0 when
all agree. The deployed pipeline runs it on a schedule (KPI_STAGE=verify).
  KPI_HISTORY_ENGINE=athena  the recompute runs on Athena over the stack's Glue tables (needs
                      KPI_ATHENA_WORKGROUP and KPI_ATHENA_DATABASE, the stack outputs
                      athenaWorkgroup and lakeDatabase); the lake is then checked day by day
                      (files and joined-item counts). Otherwise DuckDB in this process, spilling
                      to TMPDIR past KPI_HISTORY_MEMORY_MIB.`,
  rebuild: `Usage: kpi rebuild

Recomputes the transform's state ($KPI_STATE_TABLE and state/index/), the curated zone and the
KPI tables from archive/, then verifies. It marks every archived file pending and recomputes
them beside the current state, lake and tables, switching with one commit: readers see the old
figures until then, never empty tables; killed at any point, the next transform finishes it.
For recovery and after a format change.`,
};

export function help(cmd: string): number {
  console.log(HELP[cmd]);
  return 0;
}
