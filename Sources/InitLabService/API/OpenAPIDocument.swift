// Generated from the top-level openapi.yaml; OpenAPIDocumentTests fails when the two differ.
// To refresh: python3 scripts/embed-openapi.py (or copy the file between the delimiters by hand).

/// The API contract, served at `GET /openapi.yaml`. Embedded so the binary needs no resource files.
enum OpenAPIDocument {
    static let yaml = #"""
# InitLab HTTP API. Served by the binary at GET /openapi.yaml (embedded copy, checked equal by a test).
openapi: 3.1.0
info:
  title: InitLab API
  version: 1.0.0
  description: 'Neural-network initialization experiments as jobs. POST a spec, poll (or long-poll) the job, GET
    the result. Every error is application/problem+json (RFC 9457). Binds 127.0.0.1 by default; on any other address
    every POST needs Authorization: Bearer.'
  license:
    name: MIT
    identifier: MIT
servers:
- url: http://127.0.0.1:8080
tags:
- name: experiments
- name: datasets
- name: catalog
- name: operations
- name: visualization
paths:
  /v1/experiments:
    post:
      operationId: submitExperiment
      summary: Validate, store and queue an experiment.
      tags:
      - experiments
      security: &id003
      - bearerAuth: []
      - {}
      description: Validates the spec synchronously, stores the job and answers 202 only after the commit. With
        Idempotency-Key, a repeat of the same key and payload replays the first response byte for byte; another
        payload is 422; a repeat while the first is still being handled is 409. Keys are kept at least 24 h.
      parameters:
      - name: Idempotency-Key
        in: header
        required: false
        description: A UUID, bare or quoted.
        schema:
          type: string
          format: uuid
      requestBody:
        required: true
        content:
          application/json:
            schema:
              $ref: '#/components/schemas/ExperimentSpec'
      responses:
        '202':
          description: Accepted and queued (or a replay of the first response to this Idempotency-Key).
          headers:
            Location:
              $ref: '#/components/headers/Location'
            Retry-After:
              $ref: '#/components/headers/RetryAfter'
            Idempotent-Replayed:
              $ref: '#/components/headers/IdempotentReplayed'
          content: &id002
            application/json:
              schema:
                $ref: '#/components/schemas/Job'
        '400':
          description: 'The body is not strict JSON (RFC 8259): a syntax error, a trailing comma, a key twice in one
            object, a number out of range, or an empty body (code malformed_json; detail names the byte offset;
            a duplicate key also comes as errors [{pointer, detail: "duplicate key"}]); or a malformed or repeated
            Idempotency-Key; or a query parameter.'
          content:
            application/problem+json:
              schema:
                $ref: '#/components/schemas/Problem'
        '401':
          $ref: '#/components/responses/Unauthorized'
        '405':
          $ref: '#/components/responses/MethodNotAllowed'
        '409':
          description: 'A request with this Idempotency-Key is still being handled (code idempotency_key_in_use,
            with Retry-After), or the spec''s dataset input is not in the server''s cache (code dataset_not_cached,
            with links.fetch and a Link header: POST /v1/datasets/{name}/fetch, wait for fetch.state ready, submit
            again; the server never downloads behind a POST of an experiment).'
          content: &id001
            application/problem+json:
              schema:
                $ref: '#/components/schemas/Problem'
          headers:
            Retry-After:
              $ref: '#/components/headers/RetryAfterOptional'
            Link:
              description: <{fetch path}>; rel="fetch" (dataset_not_cached only).
              schema:
                type: string
        '413':
          description: Body larger than the server's limit (decided before reading it).
          content: *id001
        '415':
          description: Content-Type is not application/json.
          content: *id001
        '422':
          description: Valid JSON, invalid spec (errors[] has a pointer per field, including budget overruns), or
            an Idempotency-Key reused with another spec.
          content: *id001
        '503':
          description: 'Queue full: retry after Retry-After seconds.'
          content: *id001
          headers:
            Retry-After:
              $ref: '#/components/headers/RetryAfter'
    get:
      operationId: listExperiments
      summary: List jobs, newest first, a page at a time.
      tags:
      - experiments
      parameters:
      - name: status
        in: query
        required: false
        schema:
          type: string
          enum:
          - queued
          - running
          - succeeded
          - failed
          - cancelled
      - name: page_size
        in: query
        required: false
        schema:
          type: integer
          minimum: 1
          maximum: 1000
          default: 50
      - name: page_token
        in: query
        required: false
        description: Opaque token from next_page_token, valid with the same status filter only (else 400).
        schema:
          type: string
          pattern: ^[A-Za-z0-9_-]*$
          maxLength: 200
      responses:
        '200':
          description: One page.
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/JobList'
        '400':
          $ref: '#/components/responses/BadRequest'
        '405':
          $ref: '#/components/responses/MethodNotAllowed'
  /v1/experiments/{id}:
    parameters:
    - $ref: '#/components/parameters/JobID'
    get:
      operationId: getExperiment
      summary: A job with its progress; long-poll with wait.
      tags:
      - experiments
      parameters:
      - name: wait
        in: query
        required: false
        description: 'Long-poll: wait up to this many seconds for the job to change (with If-None-Match: until the
          ETag no longer matches). Returns at once for a terminal job.'
        schema:
          type: integer
          minimum: 0
          maximum: 60
          default: 0
      - name: If-None-Match
        in: header
        required: false
        schema:
          type: string
      responses:
        '200':
          description: The job.
          headers:
            ETag:
              $ref: '#/components/headers/ETag'
            Retry-After:
              $ref: '#/components/headers/RetryAfterOptional'
          content: *id002
        '304':
          description: Not modified since the ETag in If-None-Match.
          headers:
            ETag:
              $ref: '#/components/headers/ETag'
            Retry-After:
              $ref: '#/components/headers/RetryAfterOptional'
        '400':
          $ref: '#/components/responses/BadRequest'
        '404':
          $ref: '#/components/responses/NotFound'
        '405':
          $ref: '#/components/responses/MethodNotAllowed'
  /v1/experiments/{id}/result:
    parameters:
    - $ref: '#/components/parameters/JobID'
    get:
      operationId: getExperimentResult
      summary: The result of a succeeded job.
      tags:
      - experiments
      responses:
        '200':
          description: The result JSON (deterministic bytes).
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/ExperimentResult'
        '404':
          $ref: '#/components/responses/NotFound'
        '405':
          $ref: '#/components/responses/MethodNotAllowed'
        '409':
          description: Not finished (code not_finished, with Retry-After), failed (code failed) or cancelled (code
            cancelled).
          content: *id001
          headers:
            Retry-After:
              $ref: '#/components/headers/RetryAfterOptional'
  /v1/experiments/{id}/cancel:
    parameters:
    - $ref: '#/components/parameters/JobID'
    post:
      operationId: cancelExperiment
      summary: Cancel a job.
      tags:
      - experiments
      security: *id003
      description: A queued job is cancelled at once; a running one is marked cancelled at once and its worker stops
        at the next layer boundary. A terminal job is returned unchanged.
      responses:
        '200':
          description: The job after the request.
          headers:
            ETag:
              $ref: '#/components/headers/ETag'
          content: *id002
        '401':
          $ref: '#/components/responses/Unauthorized'
        '404':
          $ref: '#/components/responses/NotFound'
        '405':
          $ref: '#/components/responses/MethodNotAllowed'
  /v1/schemes:
    get:
      operationId: listSchemes
      summary: Every initializer and activation with parameters and formula.
      tags:
      - catalog
      responses:
        '200':
          description: The catalog.
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/SchemeCatalog'
        '405':
          $ref: '#/components/responses/MethodNotAllowed'
  /v1/datasets:
    get:
      operationId: listDatasets
      summary: Every dataset the server knows, with cache state, statistics and fetch state.
      tags:
      - datasets
      responses:
        '200':
          description: mnist and fashion-mnist.
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/DatasetList'
        '405':
          $ref: '#/components/responses/MethodNotAllowed'
  /v1/datasets/{name}:
    parameters:
    - name: name
      in: path
      required: true
      description: Dataset name.
      schema:
        type: string
        enum:
        - mnist
        - fashion-mnist
    get:
      operationId: getDataset
      summary: 'One dataset: cached, verified, files, statistics and fetch state (poll it while fetching).'
      tags:
      - datasets
      parameters:
      - name: verify
        in: query
        required: false
        description: true re-hashes every cached file against its pinned checksum (about a second per dataset in a
          release build);
          verified is null otherwise.
        schema:
          type: string
          enum:
          - 'true'
          - 'false'
          default: 'false'
      responses:
        '200':
          description: The dataset. Retry-After is present while a fetch runs.
          headers:
            Retry-After:
              $ref: '#/components/headers/RetryAfterOptional'
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/Dataset'
        '400':
          $ref: '#/components/responses/BadRequest'
        '404':
          description: Unknown dataset name.
          content: *id001
        '405':
          $ref: '#/components/responses/MethodNotAllowed'
  /v1/datasets/{name}/fetch:
    parameters:
    - name: name
      in: path
      required: true
      description: Dataset name.
      schema:
        type: string
        enum:
        - mnist
        - fashion-mnist
    post:
      operationId: fetchDataset
      summary: Start fetching a dataset into the server's cache (in the background).
      tags:
      - datasets
      security: *id003
      description: Starts a background fetch (download or copy from the configured mirrors, checksum verification,
        then loading and normalization) on its own thread and answers 202 at once, with Location to the dataset
        resource, whose fetch.state goes fetching → ready (or failed, with fetch.error). Idempotent while a fetch
        runs (202, no second fetch). A dataset already ready answers 200. A failed fetch is retried by POSTing again.
        No request body.
      responses:
        '200':
          description: Already in the cache and loaded or loadable; nothing started.
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/Dataset'
        '202':
          description: A fetch was started, or one is already running.
          headers:
            Location:
              description: The dataset resource to poll.
              required: true
              schema:
                type: string
                pattern: ^/v1/datasets/[a-z-]+$
            Retry-After:
              $ref: '#/components/headers/RetryAfter'
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/Dataset'
        '401':
          $ref: '#/components/responses/Unauthorized'
        '404':
          description: Unknown dataset name.
          content: *id001
        '405':
          $ref: '#/components/responses/MethodNotAllowed'
  /healthz:
    get:
      operationId: health
      summary: Liveness.
      tags:
      - operations
      responses:
        '200':
          description: The process answers.
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/Health'
        '405':
          $ref: '#/components/responses/MethodNotAllowed'
  /readyz:
    get:
      operationId: ready
      summary: 'Readiness: store open and workers running.'
      tags:
      - operations
      responses:
        '200':
          description: Ready.
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/Readiness'
        '405':
          $ref: '#/components/responses/MethodNotAllowed'
        '503':
          description: Not ready (starting, stopping, store or workers down).
          content: *id001
          headers:
            Retry-After:
              $ref: '#/components/headers/RetryAfter'
  /metrics:
    get:
      operationId: metrics
      summary: Prometheus metrics (text format 0.0.4).
      tags:
      - operations
      responses:
        '200':
          description: Jobs by status, queue depth, run-time histogram, HTTP requests by route and status, open
            connections.
          content:
            text/plain:
              schema:
                type: string
        '405':
          $ref: '#/components/responses/MethodNotAllowed'
  /openapi.yaml:
    get:
      operationId: openapi
      summary: This document.
      tags:
      - operations
      responses:
        '200':
          description: OpenAPI 3.1 YAML.
          content:
            application/yaml:
              schema:
                type: object
                description: The OpenAPI document (YAML).
        '405':
          $ref: '#/components/responses/MethodNotAllowed'
  # ---- Visualization (issue 7): dashboard, charts, CSV, live events, sweeps ----
  /:
    get:
      tags: [visualization]
      operationId: getDashboard
      summary: The dashboard page (HTML, CSS and JavaScript shipped in the binary; works offline).
      description: |
        State lives in the query string so every view is a shareable URL. `?selftest=1` makes the page run two
        tiny experiments itself and write `<output id="selftest">pass</output>`.
      parameters:
        - {name: runs, in: query, schema: {type: string, pattern: "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(,[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}){0,63}$"}, description: "Comma-separated experiment ids to overlay (at most 64)."}
        - {name: metric, in: query, schema: {type: string, enum: [std, mean, dead_fraction, histogram]}, description: "Chart to put first, full width."}
        - {name: pass, in: query, schema: {type: string, enum: [forward, backward]}}
        - {name: scale, in: query, schema: {type: string, enum: [log, linear]}, description: "Scale of the std charts."}
        - {name: sweep, in: query, schema: {type: string, format: uuid, pattern: "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"}, description: "Opens every experiment of a sweep."}
        - {name: heatmap, in: query, schema: {type: string, format: uuid, pattern: "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"}, description: "Experiment id whose histogram heat map is shown."}
        - {name: selftest, in: query, schema: {type: string, enum: ["1"]}}
      responses:
        "200":
          description: The page.
          headers: {ETag: {$ref: "#/components/headers/ContentETag"}}
          content: {text/html: {schema: {type: string}}}
        "304": {description: "Not modified (If-None-Match matched)."}
        "400": {$ref: "#/components/responses/VizProblem"}
  /dashboard/app.js:
    get:
      tags: [visualization]
      operationId: getDashboardScript
      summary: The dashboard's script.
      parameters: [{name: v, in: query, schema: {type: string}, description: "Cache buster, ignored."}]
      responses:
        "400": {$ref: "#/components/responses/VizProblem"}
        "200": {description: "The script.", headers: {ETag: {$ref: "#/components/headers/ContentETag"}}, content: {text/javascript: {schema: {type: string}}}}
        "304": {description: "Not modified."}
  /dashboard/app.css:
    get:
      tags: [visualization]
      operationId: getDashboardStylesheet
      summary: The dashboard's stylesheet.
      parameters: [{name: v, in: query, schema: {type: string}, description: "Cache buster, ignored."}]
      responses:
        "400": {$ref: "#/components/responses/VizProblem"}
        "200": {description: "The stylesheet.", headers: {ETag: {$ref: "#/components/headers/ContentETag"}}, content: {text/css: {schema: {type: string}}}}
        "304": {description: "Not modified."}
  /v1/experiments/{id}/plot.svg:
    get:
      tags: [visualization]
      operationId: getExperimentPlot
      summary: A chart of a finished experiment, rendered on the server as SVG.
      description: |
        Line charts draw the measured statistic per layer and, for `std`, the mean-field prediction dashed.
        `histogram` is the per-layer heat map ("colorful dimension": x = layer, y = bin within the layer's own
        range, colour = log count). Valid standalone SVG with a viewBox, title, axes, tick labels, axis titles
        and a legend; every series is a `<path data-series="…" data-kind="measured|theory">`.
      parameters:
        - $ref: "#/components/parameters/JobID"
        - {name: metric, in: query, schema: {type: string, enum: [std, mean, dead_fraction, histogram], default: std}}
        - {name: pass, in: query, schema: {type: string, enum: [forward, backward], default: forward}}
        - {name: scale, in: query, schema: {type: string, enum: [log, linear]}, description: "Default log for std, linear otherwise. On a log scale values ≤ 0 are gaps; a histogram ignores it."}
        - $ref: "#/components/parameters/IfNoneMatch"
      responses:
        "200":
          description: The chart.
          headers: {ETag: {$ref: "#/components/headers/ContentETag"}, Cache-Control: {schema: {type: string}}}
          content: {image/svg+xml: {schema: {type: string}}}
        "304": {description: "Not modified (If-None-Match matched)."}
        "400": {$ref: "#/components/responses/VizProblem"}
        "404": {$ref: "#/components/responses/VizProblem"}
        "409": {$ref: "#/components/responses/VizProblem"}
  /v1/experiments/{id}/result.csv:
    get:
      tags: [visualization]
      operationId: getExperimentCSV
      summary: The result as CSV (RFC 4180), one row per layer, one column per statistic.
      description: |
        Columns: layer, fan_in, fan_out; then count, mean, std, min, max, mean_abs, zero_fraction, dead_fraction,
        nonfinite_fraction, p1, p50, p99 for each of preactivation, activation, activation_grad and weight_grad
        (prefixed, e.g. `activation_grad_std`); theory_q, theory_predicted_preactivation_std,
        theory_predicted_activation_std, theory_predicted_activation_grad_std; lsuv_iterations. CRLF line ends;
        numbers in shortest round-trip form; a non-finite value is an empty field.
      parameters:
        - $ref: "#/components/parameters/JobID"
        - $ref: "#/components/parameters/IfNoneMatch"
      responses:
        "200":
          description: The CSV.
          headers: {ETag: {$ref: "#/components/headers/ContentETag"}, Content-Disposition: {schema: {type: string}}}
          content: {text/csv: {schema: {type: string}}}
        "304": {description: "Not modified."}
        "400": {$ref: "#/components/responses/VizProblem"}
        "404": {$ref: "#/components/responses/VizProblem"}
        "409": {$ref: "#/components/responses/VizProblem"}
  /v1/experiments/{id}/events:
    get:
      tags: [visualization]
      operationId: getExperimentEvents
      summary: Live progress as Server-Sent Events, ending with `done`.
      description: |
        Events: `status` (no id; a snapshot opening every stream, with `retry:`), `progress`
        (id = layers done; `{layers_done, layers_total, status}`; without an id once a `layer` event was sent),
        `layer` (id = layers_total + layer index; data = the layer object of the result, as in
        GET /v1/experiments/{id}/result), `done` (id = layers_total + depth + 1, or 2·layers_total + 1 when the
        run did not succeed; `{status, result?, error?}`), and a `: heartbeat` comment after 15 s of silence
        (INITLAB_SSE_HEARTBEAT_MS). Layer events are sent once each, in index order, live as the run finishes
        each layer (as last reported: in a backward run, forward statistics with `backward: null` until that
        layer's backward step; the complete layer is in the result), and the rest from the stored result once
        it succeeds, so a stream opened after completion replays the same ids. Ids are deterministic per
        experiment, so `Last-Event-ID` resumes exactly: only events with a larger id are sent, with no gap or
        duplicate across the live → stored transition. The stream closes after `done`; close the EventSource on it.
      parameters:
        - $ref: "#/components/parameters/JobID"
        - {name: Last-Event-ID, in: header, schema: {type: integer, minimum: 0, maximum: 9223372036854775807}, description: "The id of the last event received; only later events are sent. Omit the header to start from the first event: an empty or non-integer value is a 400."}
      responses:
        "200":
          description: The event stream.
          content:
            text/event-stream:
              schema:
                type: object
                description: One event (schema of each event, not of the whole stream).
                required: [event, data]
                properties:
                  event: {type: string, enum: [status, progress, layer, done]}
                  data: {type: string, description: JSON text.}
                  id: {type: string, pattern: "^[0-9]+$"}
                  retry: {type: integer, minimum: 0}
        "400": {$ref: "#/components/responses/VizProblem"}
        "404": {$ref: "#/components/responses/VizProblem"}
  /v1/sweeps:
    post:
      tags: [visualization]
      operationId: createSweep
      summary: Runs one experiment per combination of the varied values (cartesian product).
      description: |
        The whole sweep is validated before anything is queued: the structure, every combination's spec
        (pointers map into the body: `/vary/init/2/mode` or `/base/batch`), at most 64 combinations, their
        total estimated compute within the sweep budget (2e13 FLOPs), and room in the queue (else 503).
        Experiments are submitted through POST /v1/experiments (same validation, canonical spec and queue).
        The first varied key changes slowest.
      security: [{}, {bearerAuth: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/SweepRequest"}
            example: {base: {depth: 8, width: 16, batch: 8, init: kaiming_normal, activation: relu}, vary: {init: [xavier_normal, kaiming_normal], seed: [1, 2]}}
      responses:
        "201":
          description: Created; the experiments are queued.
          headers: {Location: {schema: {type: string}, description: "/v1/sweeps/{id}"}}
          content: {application/json: {schema: {$ref: "#/components/schemas/Sweep"}}}
        "400": {$ref: "#/components/responses/VizProblem"}
        "401": {$ref: "#/components/responses/VizProblem"}
        "413": {$ref: "#/components/responses/VizProblem"}
        "415": {$ref: "#/components/responses/VizProblem"}
        "422": {$ref: "#/components/responses/VizProblem"}
        "503": {$ref: "#/components/responses/VizProblem"}
  /v1/sweeps/{id}:
    get:
      tags: [visualization]
      operationId: getSweep
      summary: The sweep with each experiment's status, progress and summary.
      parameters:
        - {name: id, in: path, required: true, schema: {type: string, format: uuid}}
        - $ref: "#/components/parameters/IfNoneMatch"
      responses:
        "200":
          description: The sweep.
          headers: {ETag: {$ref: "#/components/headers/ContentETag"}}
          content: {application/json: {schema: {$ref: "#/components/schemas/Sweep"}}}
        "304": {description: "Not modified."}
        "404": {$ref: "#/components/responses/VizProblem"}
  /v1/sweeps/{id}/plot.svg:
    get:
      tags: [visualization]
      operationId: getSweepPlot
      summary: The sweep's finished experiments overlaid in one SVG chart.
      description: Theory lines are drawn for up to 4 runs. While some are unfinished the title says how many are drawn.
      parameters:
        - {name: id, in: path, required: true, schema: {type: string, format: uuid}}
        - {name: metric, in: query, schema: {type: string, enum: [std, mean, dead_fraction], default: std}}
        - {name: pass, in: query, schema: {type: string, enum: [forward, backward], default: forward}}
        - {name: scale, in: query, schema: {type: string, enum: [log, linear]}}
        - $ref: "#/components/parameters/IfNoneMatch"
      responses:
        "200":
          description: The chart.
          headers: {ETag: {$ref: "#/components/headers/ContentETag"}}
          content: {image/svg+xml: {schema: {type: string}}}
        "304": {description: "Not modified."}
        "400": {$ref: "#/components/responses/VizProblem"}
        "404": {$ref: "#/components/responses/VizProblem"}
        "409": {$ref: "#/components/responses/VizProblem"}
components:
  securitySchemes:
    bearerAuth:
      type: http
      scheme: bearer
      description: Required on every POST when the server has a token (always when it binds a non-loopback address).
  headers:
    # Visualization (issue 7)
    ContentETag: {schema: {type: string}, description: "Strong tag of the exact bytes sent; send it back in If-None-Match."}
    Location:
      description: The job's URL.
      required: true
      schema:
        type: string
        pattern: ^/v1/experiments/[0-9a-f-]{36}$
    RetryAfter:
      description: Seconds to wait before polling or retrying.
      required: true
      schema:
        type: string
        pattern: ^[0-9]+$
    RetryAfterOptional:
      description: Seconds before polling again; present while the job is not terminal.
      schema:
        type: string
        pattern: ^[0-9]+$
    ETag:
      description: Strong validator of the job's current state; send it back in If-None-Match.
      required: true
      schema:
        type: string
    Allow:
      description: Methods the path supports.
      required: true
      schema:
        type: string
    WWWAuthenticate:
      description: Bearer challenge (RFC 6750).
      required: true
      schema:
        type: string
    IdempotentReplayed:
      description: true when this is the stored first response to the same Idempotency-Key.
      schema:
        type: string
        enum:
        - 'true'
  parameters:
    # Visualization (issue 7)
    IfNoneMatch: {name: If-None-Match, in: header, schema: {type: string}}
    JobID:
      name: id
      in: path
      required: true
      description: Job id (lowercase UUID).
      schema:
        type: string
        format: uuid
        pattern: ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$
  responses:
    # Visualization (issue 7)
    VizProblem:
      description: An RFC 9457 problem.
      content:
        application/problem+json:
          schema: {$ref: "#/components/schemas/Problem"}
    BadRequest:
      description: 'Malformed JSON (RFC 8259 strictly: no trailing commas, no duplicate keys; code malformed_json,
        detail names the byte offset or the key) or query parameters (unknown, duplicated or out of range).'
      content: *id001
    NotFound:
      description: Unknown id, or pruned after the retention period.
      content: *id001
    MethodNotAllowed:
      description: Known path, other method.
      content: *id001
      headers:
        Allow:
          $ref: '#/components/headers/Allow'
    Unauthorized:
      description: Missing or wrong bearer token (only when the server has a token).
      content: *id001
      headers:
        WWW-Authenticate:
          $ref: '#/components/headers/WWWAuthenticate'
  schemas:
    # Visualization (issue 7)
    SweepRequest:
      type: object
      required: [base, vary]
      additionalProperties: false
      properties:
        base: {type: object, description: "An experiment spec (see POST /v1/experiments); varied keys override it."}
        vary:
          type: object
          additionalProperties: false
          minProperties: 1
          properties:
            init: {type: array, minItems: 1, maxItems: 64, items: {oneOf: [{type: string}, {type: object}]}}
            activation: {type: array, minItems: 1, maxItems: 64, items: {oneOf: [{type: string}, {type: object}]}}
            width: {type: array, minItems: 1, maxItems: 64, items: {type: integer}}
            depth: {type: array, minItems: 1, maxItems: 64, items: {type: integer}}
            seed: {type: array, minItems: 1, maxItems: 64, items: {type: integer, minimum: 0}}
    Sweep:
      type: object
      required: [id, created_at, status, counts, base, vary, experiments, plot]
      properties:
        id: {type: string, format: uuid}
        created_at: {type: string, format: date-time}
        status: {type: string, enum: [running, done], description: "running while any experiment is queued or running."}
        counts: {type: object, additionalProperties: {type: integer}, description: "Experiments per status (queued, running, succeeded, failed, cancelled, pruned)."}
        base: {type: object}
        vary: {type: object}
        plot: {type: string, description: "Path of the overlay chart."}
        experiments:
          type: array
          items:
            type: object
            required: [id, label, values, status]
            properties:
              id: {type: string, format: uuid}
              label: {type: string, example: "init=xavier_normal, seed=1"}
              values: {type: object}
              status: {type: string, enum: [queued, running, succeeded, failed, cancelled, pruned]}
              layers_done: {type: integer}
              layers_total: {type: integer}
              summary: {type: object, description: "The result's summary once succeeded."}
              error: {type: string}
    InitZeros:
      type: object
      title: zeros
      required:
      - name
      additionalProperties: false
      properties:
        name:
          const: zeros
    InitConstant:
      type: object
      title: constant
      required:
      - name
      additionalProperties: false
      properties:
        name:
          const: constant
        value:
          type: number
          minimum: -1000000
          maximum: 1000000
          description: the constant
          default: 0
    InitNormal:
      type: object
      title: normal
      required:
      - name
      additionalProperties: false
      properties:
        name:
          const: normal
        mean:
          type: number
          minimum: -1000000
          maximum: 1000000
          description: mean
          default: 0
        std:
          type: number
          minimum: 0
          maximum: 1000000
          description: standard deviation
          default: 1
    InitUniform:
      type: object
      title: uniform
      required:
      - name
      additionalProperties: false
      properties:
        name:
          const: uniform
        low:
          type: number
          minimum: -1000000
          maximum: 1000000
          description: lower bound (≤ high)
          default: -1
        high:
          type: number
          minimum: -1000000
          maximum: 1000000
          description: upper bound (≥ low)
          default: 1
    InitTorchDefault:
      type: object
      title: torch_default
      required:
      - name
      additionalProperties: false
      properties:
        name:
          const: torch_default
    ExperimentSpec:
      type: object
      additionalProperties: false
      required:
      - depth
      - width
      - batch
      - init
      - activation
      properties:
        depth:
          type: integer
          minimum: 1
          maximum: 10000
          description: 'Number of layers (the server''s --max-depth may be lower: 422).'
        width:
          type: integer
          minimum: 1
          maximum: 4096
          description: Units per layer.
        batch:
          type: integer
          minimum: 1
          maximum: 4096
          description: Samples per batch.
        input_width:
          type:
          - integer
          - 'null'
          minimum: 1
          maximum: 4096
          description: Input features; default (or null) = width; 784 for datasets.
        seed:
          type:
          - integer
          - 'null'
          minimum: 0
          maximum: 18446744073709551615
          description: UInt64 seed of every random draw; default 0.
        backward:
          type:
          - boolean
          - 'null'
          description: Also run the backward pass; default true.
        init:
          description: 'Weight initializer: a bare name (every parameter at its default) or an object with the name
            and parameters. See GET /v1/schemes for formulas.'
          oneOf:
          - type: string
            enum:
            - zeros
            - constant
            - normal
            - uniform
            - scaled_normal
            - xavier_uniform
            - xavier_normal
            - kaiming_uniform
            - kaiming_normal
            - lecun_uniform
            - lecun_normal
            - truncated_normal
            - orthogonal
            - identity
            - torch_default
            - variance_scaling
            - lsuv
            - fixup
          - $ref: '#/components/schemas/InitZeros'
          - $ref: '#/components/schemas/InitConstant'
          - $ref: '#/components/schemas/InitNormal'
          - $ref: '#/components/schemas/InitUniform'
          - type: object
            title: scaled_normal
            required:
            - name
            additionalProperties: false
            properties:
              name:
                const: scaled_normal
              factor:
                type: number
                minimum: 0
                maximum: 1000000
                description: multiplier of a unit Gaussian
                default: 1
          - type: object
            title: xavier_uniform
            required:
            - name
            additionalProperties: false
            properties:
              name:
                const: xavier_uniform
              gain:
                type: number
                minimum: 0
                maximum: 1000
                description: multiplier (PyTorch calculate_gain values)
                default: 1
          - type: object
            title: xavier_normal
            required:
            - name
            additionalProperties: false
            properties:
              name:
                const: xavier_normal
              gain:
                type: number
                minimum: 0
                maximum: 1000
                description: multiplier (PyTorch calculate_gain values)
                default: 1
          - type: object
            title: kaiming_uniform
            required:
            - name
            additionalProperties: false
            properties:
              name:
                const: kaiming_uniform
              a:
                type: number
                minimum: 0
                maximum: 1000
                description: negative slope used by leaky_relu's gain √(2/(1+a²))
                default: 0
              mode:
                type: string
                enum:
                - fan_in
                - fan_out
                description: fan_in keeps the forward variance, fan_out the backward
                default: fan_in
              nonlinearity:
                type: string
                enum:
                - linear
                - identity
                - sigmoid
                - tanh
                - relu
                - leaky_relu
                - selu
                description: 'gain as PyTorch calculate_gain: linear/identity/sigmoid 1, tanh 5/3, relu √2, leaky_relu
                  √(2/(1+a²)), selu 3/4 (PyTorch default leaky_relu, a = 0 ⇒ √2)'
                default: leaky_relu
          - type: object
            title: kaiming_normal
            required:
            - name
            additionalProperties: false
            properties:
              name:
                const: kaiming_normal
              a:
                type: number
                minimum: 0
                maximum: 1000
                description: negative slope used by leaky_relu's gain √(2/(1+a²))
                default: 0
              mode:
                type: string
                enum:
                - fan_in
                - fan_out
                description: fan_in keeps the forward variance, fan_out the backward
                default: fan_in
              nonlinearity:
                type: string
                enum:
                - linear
                - identity
                - sigmoid
                - tanh
                - relu
                - leaky_relu
                - selu
                description: 'gain as PyTorch calculate_gain: linear/identity/sigmoid 1, tanh 5/3, relu √2, leaky_relu
                  √(2/(1+a²)), selu 3/4 (PyTorch default leaky_relu, a = 0 ⇒ √2)'
                default: leaky_relu
          - type: object
            title: lecun_uniform
            required:
            - name
            additionalProperties: false
            properties:
              name:
                const: lecun_uniform
          - type: object
            title: lecun_normal
            required:
            - name
            additionalProperties: false
            properties:
              name:
                const: lecun_normal
          - type: object
            title: truncated_normal
            required:
            - name
            additionalProperties: false
            properties:
              name:
                const: truncated_normal
              mean:
                type: number
                minimum: -1000000
                maximum: 1000000
                description: mean
                default: 0
              std:
                type: number
                minimum: 0
                maximum: 1000000
                description: std of the normal before truncation
                default: 1
          - type: object
            title: orthogonal
            required:
            - name
            additionalProperties: false
            properties:
              name:
                const: orthogonal
              gain:
                type: number
                minimum: 0
                maximum: 1000
                description: multiplier
                default: 1
          - type: object
            title: identity
            required:
            - name
            additionalProperties: false
            properties:
              name:
                const: identity
          - $ref: '#/components/schemas/InitTorchDefault'
          - type: object
            title: variance_scaling
            required:
            - name
            additionalProperties: false
            properties:
              name:
                const: variance_scaling
              scale:
                type: number
                minimum: 0
                maximum: 1000000
                description: variance multiplier
                default: 1
              mode:
                type: string
                enum:
                - fan_in
                - fan_out
                - fan_avg
                description: which fan divides
                default: fan_in
              distribution:
                type: string
                enum:
                - normal
                - truncated_normal
                - uniform
                description: distribution
                default: truncated_normal
          - type: object
            title: lsuv
            required:
            - name
            additionalProperties: false
            properties:
              name:
                const: lsuv
              tol:
                type: number
                minimum: 1.0e-06
                maximum: 1
                description: stop when |std − 1| < tol
                default: 0.1
              max_iterations:
                type: integer
                minimum: 1
                maximum: 100
                description: at most this many rescalings per layer (integer)
                default: 10
          - type: object
            title: fixup
            required:
            - name
            additionalProperties: false
            properties:
              name:
                const: fixup
        activation:
          description: 'Activation: a bare name (every parameter at its default) or an object with the name and
            parameters. See GET /v1/schemes for formulas.'
          oneOf:
          - type: string
            enum:
            - identity
            - relu
            - leaky_relu
            - tanh
            - sigmoid
            - gelu
            - selu
            - elu
            - softplus
            - silu
            - general_relu
          - type: object
            title: identity
            required:
            - name
            additionalProperties: false
            properties:
              name:
                const: identity
          - type: object
            title: relu
            required:
            - name
            additionalProperties: false
            properties:
              name:
                const: relu
          - type: object
            title: leaky_relu
            required:
            - name
            additionalProperties: false
            properties:
              name:
                const: leaky_relu
              slope:
                type: number
                minimum: 0
                maximum: 1000
                description: negative slope
                default: 0.01
          - type: object
            title: tanh
            required:
            - name
            additionalProperties: false
            properties:
              name:
                const: tanh
          - type: object
            title: sigmoid
            required:
            - name
            additionalProperties: false
            properties:
              name:
                const: sigmoid
          - type: object
            title: gelu
            required:
            - name
            additionalProperties: false
            properties:
              name:
                const: gelu
          - type: object
            title: selu
            required:
            - name
            additionalProperties: false
            properties:
              name:
                const: selu
          - type: object
            title: elu
            required:
            - name
            additionalProperties: false
            properties:
              name:
                const: elu
              alpha:
                type: number
                minimum: 0
                maximum: 1000
                description: α
                default: 1
          - type: object
            title: softplus
            required:
            - name
            additionalProperties: false
            properties:
              name:
                const: softplus
              beta:
                type: number
                minimum: 0.001
                maximum: 1000
                description: β
                default: 1
          - type: object
            title: silu
            required:
            - name
            additionalProperties: false
            properties:
              name:
                const: silu
          - type: object
            title: general_relu
            required:
            - name
            additionalProperties: false
            properties:
              name:
                const: general_relu
              leak:
                type: number
                minimum: 0
                maximum: 1000
                description: negative slope
                default: 0.1
              sub:
                type: number
                minimum: -1000000
                maximum: 1000000
                description: subtracted after the leaky ReLU
                default: 0.4
              maxv:
                type: number
                minimum: -1000000
                maximum: 1.0e+30
                description: upper clamp (use a huge value for none)
                default: 6
        bias_init:
          oneOf:
          - type: 'null'
          - type: string
            enum:
            - zeros
            - constant
            - normal
            - uniform
            - torch_default
          - $ref: '#/components/schemas/InitZeros'
          - $ref: '#/components/schemas/InitConstant'
          - $ref: '#/components/schemas/InitNormal'
          - $ref: '#/components/schemas/InitUniform'
          - $ref: '#/components/schemas/InitTorchDefault'
          description: Bias initializer (zeros, constant, normal, uniform, torch_default); default zeros.
        weights:
          type:
          - string
          - 'null'
          enum:
          - per_layer
          - shared
          - null
          description: Draw each layer's weights, or one matrix for all; default per_layer.
        architecture:
          description: Default mlp. residual needs depth divisible by block_size and input_width = width (else 422).
          oneOf:
          - type: 'null'
          - type: string
            enum:
            - mlp
            - residual
          - type: object
            required:
            - name
            additionalProperties: false
            properties:
              name:
                const: mlp
          - type: object
            required:
            - name
            additionalProperties: false
            properties:
              name:
                const: residual
              block_size:
                type: integer
                minimum: 1
                maximum: 10000
                default: 2
        histogram_bins:
          type:
          - integer
          - 'null'
          minimum: 1
          maximum: 512
          description: Histogram bins per statistic; default 50.
        input:
          description: Default gaussian (unit Gaussian input). A dataset input draws batch images (784 normalized
            pixels each; input_width must be 784 or absent) of the split with sample_seed; the dataset must be in
            the server's cache, else 409 dataset_not_cached (see POST /v1/datasets/{name}/fetch).
          oneOf:
          - type: 'null'
          - type: string
            enum:
            - gaussian
          - type: object
            required:
            - dataset
            additionalProperties: false
            properties:
              dataset:
                type: string
                enum:
                - mnist
                - fashion-mnist
              split:
                type: string
                enum:
                - train
                - test
                default: train
              sample_seed:
                type: integer
                minimum: 0
                maximum: 18446744073709551615
                default: 0
        loss:
          type:
          - string
          - 'null'
          enum:
          - none
          - mse
          - cross_entropy
          - null
          description: Output gradient source; default none (unit Gaussian). cross_entropy needs a dataset input
            and width ≥ 10 (else 422).
      description: An experiment. Unknown keys are rejected (422). Cross-field rules (budget, residual shape, fixup/lsuv/cross_entropy
        requirements) are checked by the server and answered 422 with pointers.
      example:
        depth: 50
        width: 512
        batch: 256
        seed: 42
        init: kaiming_normal
        activation: relu
    CanonicalSpec:
      type: object
      description: 'The spec as stored and fingerprinted: every field present, every scheme in object form with
        each parameter resolved to its default.'
      required:
      - depth
      - width
      - batch
      - input_width
      - seed
      - backward
      - init
      - activation
      - bias_init
      - weights
      - architecture
      - histogram_bins
      - input
      - loss
      additionalProperties: true
    Progress:
      type: object
      additionalProperties: false
      required:
      - layers_done
      - layers_total
      properties:
        layers_done:
          type: integer
          minimum: 0
        layers_total:
          type: integer
          minimum: 1
          description: depth, plus depth again when backward is on.
    Job:
      type: object
      additionalProperties: false
      required:
      - id
      - status
      - spec
      - progress
      - attempt
      - created_at
      properties:
        id:
          type: string
          format: uuid
        status:
          type: string
          enum:
          - queued
          - running
          - succeeded
          - failed
          - cancelled
          description: succeeded, failed and cancelled are terminal and never change.
        spec:
          type: object
          description: The canonical spec (see CanonicalSpec; tests with a stand-in engine store other shapes).
        progress:
          $ref: '#/components/schemas/Progress'
        attempt:
          type: integer
          minimum: 1
          description: 1 for the first run; +1 for each re-run after a crash.
        created_at:
          type: string
          format: date-time
        started_at:
          type: string
          format: date-time
        finished_at:
          type: string
          format: date-time
        error:
          type: string
          description: 'Why a failed job failed (e.g. "time limit: …").'
        result_url:
          type: string
          description: Where the result is, once succeeded.
    JobList:
      type: object
      additionalProperties: false
      required:
      - experiments
      properties:
        experiments:
          type: array
          items:
            $ref: '#/components/schemas/Job'
          description: Newest first.
        next_page_token:
          type: string
          description: Opaque; absent on the last page.
    FieldError:
      type: object
      additionalProperties: false
      required:
      - pointer
      - detail
      properties:
        pointer:
          type: string
          description: RFC 6901 JSON pointer into the request body ("" = the whole spec).
        detail:
          type: string
    Problem:
      type: object
      required:
      - type
      - title
      - status
      - detail
      - instance
      - code
      description: RFC 9457 problem details.
      properties:
        type:
          type: string
        title:
          type: string
        status:
          type: integer
          minimum: 400
          maximum: 599
        detail:
          type: string
        instance:
          type: string
        code:
          type: string
          description: Stable machine-readable code, e.g. invalid_spec, queue_full, dataset_not_cached.
        request_id:
          type: string
        links:
          type: object
          description: Related resources by name, e.g. fetch and dataset for dataset_not_cached.
          additionalProperties:
            type: string
        errors:
          type: array
          items:
            $ref: '#/components/schemas/FieldError'
    ExperimentResult:
      type: object
      required:
      - spec
      - conventions
      - layers
      - summary
      description: 'Per-layer statistics (forward, backward, mean-field theory) and a summary. Deterministic: the
        same spec gives byte-identical JSON.'
      properties:
        spec:
          type: object
        conventions:
          type: object
        layers:
          type: array
          items:
            type: object
        summary:
          type: object
    SchemeCatalog:
      type: object
      required:
      - initializers
      - activations
      properties:
        initializers:
          type: array
          items:
            $ref: '#/components/schemas/SchemeDescriptor'
        activations:
          type: array
          items:
            $ref: '#/components/schemas/SchemeDescriptor'
    SchemeDescriptor:
      type: object
      required:
      - name
      - kind
      - formula
      - summary
      - parameters
      properties:
        name:
          type: string
        kind:
          type: string
          enum:
          - init
          - activation
        formula:
          type: string
        summary:
          type: string
        parameters:
          type: array
          items:
            type: object
            required:
            - name
            - type
            - default
            - description
            properties:
              name:
                type: string
              type:
                type: string
                enum:
                - number
                - string
              default:
                type:
                - number
                - string
              minimum:
                type: number
              maximum:
                type: number
              allowed:
                type: array
                items:
                  type: string
              description:
                type: string
    Health:
      type: object
      required:
      - status
      properties:
        status:
          type: string
          enum:
          - ok
    Readiness:
      type: object
      required:
      - status
      - checks
      properties:
        status:
          type: string
          enum:
          - ready
        checks:
          type: object
          properties:
            store:
              type: boolean
            workers:
              type: boolean
    DatasetList:
      type: object
      required:
      - datasets
      properties:
        datasets:
          type: array
          items:
            $ref: '#/components/schemas/Dataset'
    Dataset:
      type: object
      description: A dataset in the server's cache. fetch.state is ready when every file is cached (and the last
        fetch did not fail); an experiment on a dataset that is not cached is refused with 409 dataset_not_cached.
      required:
      - name
      - title
      - cached
      - verified
      - loaded
      - classes
      - train
      - test
      - files
      - statistics
      - fetch
      - links
      properties:
        name:
          type: string
          enum:
          - mnist
          - fashion-mnist
        title:
          type: string
        cached:
          type: boolean
          description: All four files are in the cache (files reach it only after their checksum matched).
        verified:
          type:
          - boolean
          - 'null'
          description: Every checksum re-checked and matching (?verify=true); null when not re-checked.
        loaded:
          type: boolean
          description: Loaded and normalized in this server's memory (experiments on it start without loading).
        classes:
          type: integer
        train:
          $ref: '#/components/schemas/DatasetSplit'
        test:
          $ref: '#/components/schemas/DatasetSplit'
        files:
          type: array
          items:
            $ref: '#/components/schemas/DatasetFile'
        statistics:
          description: Pixel statistics recorded by the last load; null before the first load.
          oneOf:
          - type: 'null'
          - $ref: '#/components/schemas/NormalizationStatistics'
        fetch:
          $ref: '#/components/schemas/DatasetFetch'
        links:
          type: object
          required:
          - self
          - fetch
          properties:
            self:
              type: string
            fetch:
              type: string
    DatasetSplit:
      type: object
      required:
      - images
      - rows
      - cols
      properties:
        images:
          type:
          - integer
          - 'null'
        rows:
          type: integer
        cols:
          type: integer
    DatasetFile:
      type: object
      required:
      - name
      - role
      - present
      - bytes
      - partial_bytes
      - checksum_matches
      properties:
        name:
          type: string
        role:
          type: string
          enum:
          - train_images
          - train_labels
          - test_images
          - test_labels
        present:
          type: boolean
        bytes:
          type: integer
          minimum: 0
        partial_bytes:
          type: integer
          minimum: 0
          description: Bytes of an interrupted download waiting to be resumed.
        checksum_matches:
          type:
          - boolean
          - 'null'
    PixelStatistics:
      type: object
      required:
      - mean
      - std
      properties:
        mean:
          type: number
        std:
          type: number
    NormalizationStatistics:
      type: object
      description: Pixels scaled to [0, 1] (raw) and after normalization with the training set's mean and std.
      required:
      - raw_train
      - raw_test
      - normalized_train
      - normalized_test
      properties:
        raw_train:
          $ref: '#/components/schemas/PixelStatistics'
        raw_test:
          $ref: '#/components/schemas/PixelStatistics'
        normalized_train:
          $ref: '#/components/schemas/PixelStatistics'
        normalized_test:
          $ref: '#/components/schemas/PixelStatistics'
    DatasetFetch:
      type: object
      required:
      - state
      - progress
      - error
      - started_at
      - finished_at
      properties:
        state:
          type: string
          enum:
          - idle
          - fetching
          - failed
          - ready
          description: fetching while a fetch runs; failed when the last one failed (see error); ready when every
            file is cached; idle otherwise.
        progress:
          description: While fetching.
          oneOf:
          - type: 'null'
          - $ref: '#/components/schemas/DatasetFetchProgress'
        error:
          type:
          - string
          - 'null'
        started_at:
          type:
          - string
          - 'null'
          format: date-time
        finished_at:
          type:
          - string
          - 'null'
          format: date-time
    DatasetFetchProgress:
      type: object
      required:
      - files_done
      - files_total
      - file
      - bytes
      - bytes_total
      properties:
        files_done:
          type: integer
          minimum: 0
        files_total:
          type: integer
          minimum: 0
        file:
          type:
          - string
          - 'null'
          description: The file in transfer.
        bytes:
          type: integer
          minimum: 0
          description: Bytes of file received so far (a resumed prefix included).
        bytes_total:
          type:
          - integer
          - 'null'
          description: The file's size when the mirror announced it.

"""#
}
