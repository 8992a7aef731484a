/// The contract (../shared/spec/API.md, with docs/api-decisions.md) as an OpenAPI 3.1 document, served by
/// `GET /openapi.yaml` (spec §8). `OperationsTests.openAPIDocumentListsEveryRoute` checks that it lists
/// exactly the routes the server registers; `make check-openapi` runs a validator on it.
public enum OpenAPIDocument {
    /// The error replies of every authenticated API operation (spec §1.1); operations with a body add 400,
    /// the ones bounded by a time budget 504.
    static let apiErrors = [401, 403, 404, 429, 500, 503]

    /// The `responses` entries of these HTTP statuses, each a reference to the shared error response of
    /// its status (`components/responses`), indented for an operation's `responses`.
    static func errorResponses(_ statuses: [Int]) -> String {
        let names = [400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
                     416: "RangeNotSatisfiable", 429: "RateLimited", 500: "InternalError", 503: "Unavailable",
                     504: "Timeout"]
        return statuses.map { "        '\($0)': {$ref: '#/components/responses/\(names[$0]!)'}" }.joined(separator: "\n")
    }

    public static let yaml = #"""
openapi: 3.1.0
info:
  title: Roto API
  version: 1.0.0
  description: |
    Kling's "multi-elements" video-selection and video-editing API, as served by Roto.
    A Kling or CometAPI client works against Roto by changing only the base URL and the key.

    Every API path is served twice: as written here and under the `/kling` prefix that the
    CometAPI gateway uses (`/kling/v1/...`), with identical behaviour; every API route also
    answers with a trailing `/`. Health and operations routes (`/healthz`, `/readyz`,
    `/metrics`, `/openapi.yaml`) exist only at the root.

    Every JSON response, success or error, is the envelope `{code, message, request_id, data}`;
    success is `code: 0`, `message: "SUCCEED"`. `request_id` is a fresh UUID, also sent as the
    `X-Request-Id` header. Errors carry `data: null`. JSON request bodies are limited to 1 MiB;
    in request bodies a `null` optional field counts as absent, and so does an empty string for
    optional string fields. Operations marked `x-roto-extension: true` are Roto extensions,
    never required by a Kling client.
servers:
  - url: /
    description: Kling-style paths (`/v1/...`).
  - url: /kling
    description: CometAPI-style prefix (`/kling/v1/...`); same behaviour.
security:
  - bearerAuth: []
tags:
  - name: selection
    description: Video selection sessions (spec sections 2-5).
  - name: tasks
    description: Edit tasks (spec section 6).
  - name: files
    description: Capability URLs and uploads.
  - name: operations
    description: Health, metrics and this document.

paths:
  /v1/videos/multi-elements/init-selection:
    post:
      tags: [selection]
      operationId: initSelection
      summary: Start a selection session from a video
      description: |
        Exactly one of `video_id` / `video_url` must be non-empty (an empty string counts as absent).
        `video_url` must be http(s) (or a URL returned by `POST /v1/files` for the same account);
        downloads follow at most 5 redirects, must answer 200, are capped (default 300 MB) and may
        only reach public addresses unless the operator allows private networks.
        `video_id` is a result video of one of this account's tasks, at most 30 days old (else 1203);
        a `task_id` given with it must be the task that produced it (else 1201).
        The file is probed by content: MP4 or QuickTime MOV with a decodable video stream; duration
        2-5.5 s or 7-10.5 s; displayed width and height each 720-2160 px; 24, 30 or 60 fps (23.976,
        29.97 and 59.94 are accepted and normalised; VFR is resampled). Each failed rule is 1201 naming
        the rule and the measured value. The video is normalised to H.264 yuv420p CFR `+faststart` MP4;
        later frame indices refer to its frames (0-based). The session lives 24 h. Time budget 300 s (5002).
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/InitSelectionRequest'}
            example: {video_url: 'https://example.com/clip.mp4'}
      responses:
        '200':
          description: Session created.
          headers: {X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}}
          content:
            application/json:
              schema: {$ref: '#/components/schemas/InitSelectionEnvelope'}
              example:
                code: 0
                message: SUCCEED
                request_id: 9b2f7c1e-3d4a-4e5b-8c6d-7e8f9a0b1c2d
                data: {status: 0, session_id: '847570360458960960', final_unit_deduction: '0', fps: 30,
                       original_duration: 5000, width: 1280, height: 720, total_frame: 150,
                       normalized_video: 'https://host/v1/files/Qm9vVG9rZW4xMjM0NTY3ODkwYWJj'}
\#(errorResponses([400] + apiErrors + [504]))

  /v1/videos/multi-elements/add-selection:
    post:
      tags: [selection]
      operationId: addSelection
      summary: Add points on a frame and segment the object
      description: |
        Adds include (or, as an extension, exclude) points for one object on one frame; the engine
        segments the object and answers with the mask of every object on that frame. After the call
        there are at most 10 points per frame and object, and at most 10 distinct marked frames per
        session (else 1201, nothing stored). Re-adding an existing point (same coordinates) is a no-op.
        `frame_index` must be below the session's `total_frame` (1201). `data.status` is 1 when no
        object could be segmented at the points (the points are still stored). Unknown, expired or
        another account's session: 1203.
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/SelectionPointsRequest'}
            example: {session_id: '847570360458960960', frame_index: 12, points: [{x: 0.42, y: 0.55}]}
      responses:
        '200': {$ref: '#/components/responses/SelectionOK'}
\#(errorResponses([400] + apiErrors))

  /v1/videos/multi-elements/delete-selection:
    post:
      tags: [selection]
      operationId: deleteSelection
      summary: Remove points from a frame
      description: |
        Every point must match a point already stored on that frame for that object (|dx|, |dy| <= 1e-6),
        else 1201 listing the unmatched points and nothing is deleted. A frame whose last point is
        removed stops counting as marked, and its `rle_mask_list` is then `[]`. The response is the
        masks of every object left on the frame, as for add-selection.
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/SelectionPointsRequest'}
            example: {session_id: '847570360458960960', frame_index: 12, points: [{x: 0.42, y: 0.55}]}
      responses:
        '200': {$ref: '#/components/responses/SelectionOK'}
\#(errorResponses([400] + apiErrors))

  /v1/videos/multi-elements/clear-selection:
    post:
      tags: [selection]
      operationId: clearSelection
      summary: Remove every point of every frame and object
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/SessionRequest'}
            example: {session_id: '847570360458960960'}
      responses:
        '200':
          description: Selection cleared.
          headers: {X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}}
          content:
            application/json:
              schema: {$ref: '#/components/schemas/SessionStatusEnvelope'}
              example:
                code: 0
                message: SUCCEED
                request_id: 9b2f7c1e-3d4a-4e5b-8c6d-7e8f9a0b1c2d
                data: {status: 0, session_id: '847570360458960960', final_unit_deduction: '0'}
\#(errorResponses([400] + apiErrors))

  /v1/videos/multi-elements/preview-selection:
    post:
      tags: [selection]
      operationId: previewSelection
      summary: Track every object through the clip and render a preview
      description: |
        Needs at least one point in the session (else 1201). Tracks every object forwards and backwards
        from every marked frame (each marked frame anchors the mask add-selection returned there) and
        answers synchronously with three capability URLs: the overlay video (H.264 MP4, same frame count
        and rate, longer side scaled to at most 1280 px), its JPEG cover (first marked frame) and the
        `tracking_output` JSON (see `TrackingOutput`; masks at the normalised video's size). A preview
        of an unchanged selection is served from cache.
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/SessionRequest'}
            example: {session_id: '847570360458960960'}
      responses:
        '200':
          description: Preview rendered (or served from cache).
          headers: {X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}}
          content:
            application/json:
              schema: {$ref: '#/components/schemas/PreviewEnvelope'}
              example:
                code: 0
                message: SUCCEED
                request_id: 9b2f7c1e-3d4a-4e5b-8c6d-7e8f9a0b1c2d
                data:
                  status: 0
                  session_id: '847570360458960960'
                  final_unit_deduction: '0'
                  res: {video: 'https://host/v1/files/tokA', video_cover: 'https://host/v1/files/tokB',
                        tracking_output: 'https://host/v1/files/tokC'}
\#(errorResponses([400] + apiErrors + [504]))

  /v1/videos/multi-elements:
    post:
      tags: [tasks]
      operationId: createTask
      summary: Create an edit task
      description: |
        Also served with a trailing `/`. Order of checks: field rules (1201 naming the field); then the
        session (1203 when unknown, expired or another account's); then the duration class against the
        session video's length, the selection (swap and removal need a non-empty one), the callback
        URL's address rule and `external_task_id` uniqueness (1201); then the images are fetched and
        checked by content; last the unfinished-task limit (1303, default 4 per account). A refused
        call stores nothing. The task snapshots the session's selection; later edits do not affect it.
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/CreateTaskRequest'}
            example:
              session_id: '847570360458960960'
              edit_mode: swap
              image_list: [{image: 'https://example.com/cat.png'}]
              prompt: 'Replace the dog in <<<video_1>>> with the cat from <<<image_1>>>'
              mode: std
              duration: '5'
              external_task_id: my-job-42
      responses:
        '200':
          description: Task accepted (`task_status` is `submitted`).
          headers: {X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}}
          content:
            application/json:
              schema: {$ref: '#/components/schemas/TaskCreatedEnvelope'}
              example:
                code: 0
                message: SUCCEED
                request_id: 9b2f7c1e-3d4a-4e5b-8c6d-7e8f9a0b1c2d
                data: {task_id: '847570412345678901', task_status: submitted, session_id: '847570360458960960',
                       task_info: {external_task_id: my-job-42}, created_at: 1722945600000, updated_at: 1722945600000}
\#(errorResponses([400] + apiErrors))
    get:
      tags: [tasks]
      operationId: listTasks
      summary: List the account's tasks, newest first
      description: '`pageNum` 1-1000 and `pageSize` 1-500; any other value (or a non-integer) is 1201. An empty value means the default.'
      parameters:
        - name: pageNum
          in: query
          schema: {type: integer, minimum: 1, maximum: 1000, default: 1}
        - name: pageSize
          in: query
          schema: {type: integer, minimum: 1, maximum: 500, default: 30}
      responses:
        '200':
          description: One page of tasks (possibly empty).
          headers: {X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}}
          content:
            application/json:
              schema: {$ref: '#/components/schemas/TaskListEnvelope'}
\#(errorResponses([400] + apiErrors))

  /v1/videos/multi-elements/{id}:
    get:
      tags: [tasks]
      operationId: getTask
      summary: Query one task
      description: |
        `id` is a `task_id` or one of the account's `external_task_id`s (percent-encoded in the path if
        needed). Unknown or another account's task: 1203. A GET on an action name such as
        `init-selection` is 1202 (wrong method). `task_result` is `{}` until `succeed`.
      parameters:
        - name: id
          in: path
          required: true
          description: A task_id (18-19 digits) or an external_task_id.
          schema: {type: string, minLength: 1}
      responses:
        '200':
          description: The task.
          headers: {X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}}
          content:
            application/json:
              schema: {$ref: '#/components/schemas/TaskEnvelope'}
              example:
                code: 0
                message: SUCCEED
                request_id: 9b2f7c1e-3d4a-4e5b-8c6d-7e8f9a0b1c2d
                data:
                  task_id: '847570412345678901'
                  task_status: succeed
                  task_status_msg: ''
                  task_info: {external_task_id: my-job-42}
                  task_result:
                    videos: [{id: '847570498765432101', session_id: '847570360458960960',
                              url: 'https://host/v1/files/tokR', watermark_url: '', duration: '5.0'}]
                  watermark_info: {enabled: false}
                  final_unit_deduction: '0'
                  created_at: 1722945600000
                  updated_at: 1722945660000
\#(errorResponses(apiErrors))

  /v1/videos/multi-elements/sessions/{session_id}:
    get:
      tags: [selection]
      operationId: getSession
      x-roto-extension: true
      summary: Session state (extension)
      description: The session's video facts, its points per frame and object, and its expiry. Unknown, expired or another account's session is 1203.
      parameters:
        - name: session_id
          in: path
          required: true
          schema: {$ref: '#/components/schemas/Id'}
      responses:
        '200':
          description: The session.
          headers: {X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}}
          content:
            application/json:
              schema: {$ref: '#/components/schemas/SessionStateEnvelope'}
\#(errorResponses(apiErrors))

  /v1/files:
    post:
      tags: [files]
      operationId: uploadFile
      x-roto-extension: true
      summary: Upload a video or image (extension)
      description: |
        The raw bytes are the body. `Content-Type` must be video/mp4, video/quicktime, image/jpeg or
        image/png (else 1201) and the first bytes must match it (else 1201); an empty body is 1201.
        Size caps: videos 300 MB, images 10 MB (defaults; over the cap is 1200). The returned URL lives
        24 h and is accepted as `video_url` or `image_list[].image` by the same account without a
        network round trip.
      requestBody:
        required: true
        content:
          video/mp4: {schema: {type: string, contentMediaType: video/mp4, minLength: 1}}
          video/quicktime: {schema: {type: string, contentMediaType: video/quicktime, minLength: 1}}
          image/jpeg: {schema: {type: string, contentMediaType: image/jpeg, minLength: 1}}
          image/png: {schema: {type: string, contentMediaType: image/png, minLength: 1}}
      responses:
        '200':
          description: Stored.
          headers: {X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}}
          content:
            application/json:
              schema: {$ref: '#/components/schemas/UploadEnvelope'}
              example:
                code: 0
                message: SUCCEED
                request_id: 9b2f7c1e-3d4a-4e5b-8c6d-7e8f9a0b1c2d
                data: {url: 'https://host/v1/files/tokU', expires_at: 1723032000000}
\#(errorResponses([400, 401, 403, 429, 500, 503]))

  /v1/files/{token}:
    parameters:
      - name: token
        in: path
        required: true
        description: The capability token (at least 128 random bits).
        schema: {type: string, minLength: 1}
    get:
      tags: [files]
      operationId: getFile
      summary: Download a file by capability URL
      description: |
        Needs no `Authorization`. One `bytes=` range is honoured (206 with `Content-Range`); several
        ranges are answered with the whole file; an unsatisfiable range is 416 with
        `Content-Range: bytes */size` and no body. An unknown or expired token is the 1203 envelope.
        Session files live 24 h, task results 30 days, uploads 24 h.
      security: []
      parameters:
        - {$ref: '#/components/parameters/Range'}
      responses:
        '200': {$ref: '#/components/responses/FileContent'}
        '206': {$ref: '#/components/responses/FilePartial'}
        '404': {$ref: '#/components/responses/NotFound'}
        '416': {$ref: '#/components/responses/RangeNotSatisfiable'}
        '500': {$ref: '#/components/responses/InternalError'}
    head:
      tags: [files]
      operationId: headFile
      summary: File metadata by capability URL
      description: As GET, without a body.
      security: []
      parameters:
        - {$ref: '#/components/parameters/Range'}
      responses:
        '200': {description: The file exists; headers as for GET.}
        '206': {description: Range accepted; headers as for GET.}
        '404': {description: Unknown or expired token.}
        '416': {description: Range not satisfiable.}

  /healthz:
    servers: [{url: /, description: Root only.}]
    get:
      tags: [operations]
      operationId: healthz
      x-roto-extension: true
      summary: Liveness
      security: []
      responses:
        '200':
          description: The process is up (`data.status` is `ok`).
          content:
            application/json:
              schema: {$ref: '#/components/schemas/HealthEnvelope'}
              example: {code: 0, message: SUCCEED, request_id: 9b2f7c1e-3d4a-4e5b-8c6d-7e8f9a0b1c2d,
                        data: {status: ok, checks: {}}}

  /readyz:
    servers: [{url: /, description: Root only.}]
    get:
      tags: [operations]
      operationId: readyz
      x-roto-extension: true
      summary: Readiness (database and storage reachable)
      description: 503 (5001) naming the failing checks when the database or storage is unreachable, or while shutting down.
      security: []
      responses:
        '200':
          description: Ready (`data.status` is `ready`).
          content:
            application/json:
              schema: {$ref: '#/components/schemas/HealthEnvelope'}
              example: {code: 0, message: SUCCEED, request_id: 9b2f7c1e-3d4a-4e5b-8c6d-7e8f9a0b1c2d,
                        data: {status: ready, checks: {database: ok, storage: ok}}}
        '503': {$ref: '#/components/responses/Unavailable'}

  /metrics:
    servers: [{url: /, description: Root only.}]
    get:
      tags: [operations]
      operationId: metrics
      x-roto-extension: true
      summary: Prometheus metrics
      description: |
        Prometheus text exposition. Open by default (`{}` in `security`); when the operator configures
        a metrics key, the request must carry `Authorization: Bearer <metrics key>` (the API keys do
        not apply), else 401.
      security:
        - {}
        - metricsKey: []
      responses:
        '200':
          description: Metrics.
          content:
            text/plain:
              schema: {type: string}
              example: "# TYPE roto_http_requests_total counter\nroto_http_requests_total 42\n"
        '401': {$ref: '#/components/responses/Unauthorized'}
        '500': {$ref: '#/components/responses/InternalError'}

  /openapi.yaml:
    servers: [{url: /, description: Root only.}]
    get:
      tags: [operations]
      operationId: getOpenAPI
      x-roto-extension: true
      summary: This document
      security: []
      responses:
        '200':
          description: The contract as OpenAPI 3.1.
          content:
            application/yaml:
              schema: {type: object, description: The document itself (YAML).}

components:
  securitySchemes:
    bearerAuth:
      type: http
      scheme: bearer
      description: |
        `Authorization: Bearer <token>` where the token is either an API key (opaque) or a Kling JWT:
        HS256, header `{"alg":"HS256","typ":"JWT"}`, claims `iss` = access key, `exp`, `nbf` (5 s
        leeway), signed with the access key's secret. Errors: 1001 missing, 1002 malformed, 1000 unknown
        key or bad signature, 1003 not yet valid, 1004 expired, 1103 disabled.
    metricsKey:
      type: http
      scheme: bearer
      description: The operator's metrics key, only when one is configured.

  headers:
    X-Request-Id:
      description: The envelope's `request_id`.
      schema: {type: string, format: uuid}
    Retry-After:
      description: >-
        Whole seconds after which the same call may succeed: on 1302, when the account's next request is
        allowed; on 5001 while the server shuts down, about a restart's time. Absent on 1303.
      schema: {type: integer, minimum: 1}

  parameters:
    Range:
      name: Range
      in: header
      required: false
      description: One `bytes=first-last`, `bytes=first-` or `bytes=-suffix` range.
      schema: {type: string, example: bytes=0-1023}

  responses:
    SelectionOK:
      description: The masks of every object on the frame.
      headers: {X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}}
      content:
        application/json:
          schema: {$ref: '#/components/schemas/SelectionEnvelope'}
          example:
            code: 0
            message: SUCCEED
            request_id: 9b2f7c1e-3d4a-4e5b-8c6d-7e8f9a0b1c2d
            data:
              status: 0
              session_id: '847570360458960960'
              final_unit_deduction: '0'
              res:
                frame_index: 12
                rle_mask_list:
                  - object_id: 0
                    rle_mask: {size: [720, 1280], counts: 'PZo7d0...'}
                    png_mask: {size: [720, 1280], base64: 'iVBORw0KGgo...'}
    FileContent:
      description: The whole file.
      headers:
        Accept-Ranges: {schema: {type: string, const: bytes}}
        Content-Length: {schema: {type: integer}}
        ETag: {schema: {type: string}}
      content:
        video/mp4: {schema: {type: string, contentMediaType: video/mp4}}
        video/quicktime: {schema: {type: string, contentMediaType: video/quicktime}}
        image/jpeg: {schema: {type: string, contentMediaType: image/jpeg}}
        image/png: {schema: {type: string, contentMediaType: image/png}}
        application/json: {schema: {$ref: '#/components/schemas/TrackingOutput'}}
    FilePartial:
      description: The requested range.
      headers:
        Content-Range: {schema: {type: string, example: bytes 0-1023/52341}}
        Content-Length: {schema: {type: integer}}
      content:
        '*/*': {schema: {type: string}}
    RangeNotSatisfiable:
      description: No envelope; `Content-Range` is `bytes */size`.
      headers:
        Content-Range: {schema: {type: string, example: 'bytes */52341'}}
    BadRequest:
      description: 1200 (body not JSON, not an object, or too large) or 1201 (a field breaks a rule; the message names the field, the rule and the value).
      headers: {X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}}
      content:
        application/json:
          schema: {allOf: [{$ref: '#/components/schemas/ErrorEnvelope'}, {properties: {code: {enum: [1200, 1201]}}}]}
          example: {code: 1201, message: 'points[0].x: must be within [0, 1] (got 1.5)',
                    request_id: 9b2f7c1e-3d4a-4e5b-8c6d-7e8f9a0b1c2d, data: null}
    Unauthorized:
      description: 1000-1004, authentication failed.
      headers: {X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}}
      content:
        application/json:
          schema: {allOf: [{$ref: '#/components/schemas/ErrorEnvelope'}, {properties: {code: {enum: [1000, 1001, 1002, 1003, 1004]}}}]}
    Forbidden:
      description: 1103, key disabled or no permission.
      headers: {X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}}
      content:
        application/json:
          schema: {allOf: [{$ref: '#/components/schemas/ErrorEnvelope'}, {properties: {code: {const: 1103}}}]}
    NotFound:
      description: 1203 (unknown or expired session, task, video, file or route; another account's ids look unknown) or 1202 (known path, wrong method).
      headers: {X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}}
      content:
        application/json:
          schema: {allOf: [{$ref: '#/components/schemas/ErrorEnvelope'}, {properties: {code: {enum: [1202, 1203]}}}]}
          example: {code: 1203, message: session 847570360458960960 does not exist or has expired,
                    request_id: 9b2f7c1e-3d4a-4e5b-8c6d-7e8f9a0b1c2d, data: null}
    RateLimited:
      description: 1302 (request rate limit, default 20/s burst 60 per account) or 1303 (too many unfinished tasks, default 4).
      headers:
        X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
        Retry-After: {$ref: '#/components/headers/Retry-After'}
      content:
        application/json:
          schema: {allOf: [{$ref: '#/components/schemas/ErrorEnvelope'}, {properties: {code: {enum: [1302, 1303]}}}]}
    InternalError:
      description: 5000, internal error (logged with the request id).
      headers: {X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}}
      content:
        application/json:
          schema: {allOf: [{$ref: '#/components/schemas/ErrorEnvelope'}, {properties: {code: {const: 5000}}}]}
    Unavailable:
      description: 5001, shutting down or not ready.
      headers:
        X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
        Retry-After: {$ref: '#/components/headers/Retry-After'}
      content:
        application/json:
          schema: {allOf: [{$ref: '#/components/schemas/ErrorEnvelope'}, {properties: {code: {const: 5001}}}]}
    Timeout:
      description: 5002, the operation exceeded its time budget.
      headers: {X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}}
      content:
        application/json:
          schema: {allOf: [{$ref: '#/components/schemas/ErrorEnvelope'}, {properties: {code: {const: 5002}}}]}

  schemas:
    Id:
      type: string
      pattern: '^[0-9]{18,19}$'
      description: A time-ordered decimal id (session, task or video).
      examples: ['847570360458960960']
    Millis:
      type: integer
      format: int64
      description: Unix time in milliseconds.
    Url:
      type: string
      format: uri
      description: An absolute URL on this server (`<base>/v1/files/<token>`), needing no Authorization.
    UnitDeduction:
      type: string
      description: Units billed, as a string; Roto never bills, so always `"0"`.
      examples: ['0']

    Envelope:
      type: object
      required: [code, message, request_id, data]
      properties:
        code: {type: integer, description: 0 on success; see ErrorEnvelope for the error codes.}
        message: {type: string, description: '`SUCCEED` on success, else a human-readable reason.'}
        request_id: {type: string, format: uuid}
        data: {description: The payload; `null` on errors.}
    SuccessEnvelope:
      allOf:
        - $ref: '#/components/schemas/Envelope'
        - properties:
            code: {const: 0}
            message: {const: SUCCEED}
    ErrorEnvelope:
      allOf:
        - $ref: '#/components/schemas/Envelope'
        - properties:
            code:
              enum: [1000, 1001, 1002, 1003, 1004, 1103, 1200, 1201, 1202, 1203, 1302, 1303, 5000, 5001, 5002]
              description: |
                HTTP status and meaning:
                401 1000 authentication failed (unknown key, bad JWT signature or unknown iss);
                401 1001 Authorization missing or empty;
                401 1002 Authorization malformed (not `Bearer <token>`, JWT unparseable, alg not HS256, no iss/exp);
                401 1003 JWT not yet valid (nbf in the future, 5 s leeway);
                401 1004 JWT expired;
                403 1103 key disabled / no permission;
                400 1200 body not valid JSON, not an object, or too large;
                400 1201 a parameter is missing, has the wrong type or breaks a rule;
                404 1202 known path, wrong HTTP method;
                404 1203 unknown or expired session, task, video, file, or unknown route;
                429 1302 request rate limit exceeded;
                429 1303 too many unfinished tasks;
                500 5000 internal error;
                503 5001 shutting down / not ready;
                504 5002 time budget exceeded.
            message: {type: string}
            data: {type: 'null'}

    InitSelectionEnvelope:
      allOf: [{$ref: '#/components/schemas/SuccessEnvelope'}, {properties: {data: {$ref: '#/components/schemas/InitSelectionData'}}}]
    SelectionEnvelope:
      allOf: [{$ref: '#/components/schemas/SuccessEnvelope'}, {properties: {data: {$ref: '#/components/schemas/SelectionData'}}}]
    SessionStatusEnvelope:
      allOf: [{$ref: '#/components/schemas/SuccessEnvelope'}, {properties: {data: {$ref: '#/components/schemas/SessionStatusData'}}}]
    PreviewEnvelope:
      allOf: [{$ref: '#/components/schemas/SuccessEnvelope'}, {properties: {data: {$ref: '#/components/schemas/PreviewData'}}}]
    TaskCreatedEnvelope:
      allOf: [{$ref: '#/components/schemas/SuccessEnvelope'}, {properties: {data: {$ref: '#/components/schemas/TaskCreatedData'}}}]
    TaskEnvelope:
      allOf: [{$ref: '#/components/schemas/SuccessEnvelope'}, {properties: {data: {$ref: '#/components/schemas/TaskData'}}}]
    TaskListEnvelope:
      allOf: [{$ref: '#/components/schemas/SuccessEnvelope'}, {properties: {data: {type: array, items: {$ref: '#/components/schemas/TaskData'}}}}]
    SessionStateEnvelope:
      allOf: [{$ref: '#/components/schemas/SuccessEnvelope'}, {properties: {data: {$ref: '#/components/schemas/SessionStateData'}}}]
    UploadEnvelope:
      allOf: [{$ref: '#/components/schemas/SuccessEnvelope'}, {properties: {data: {$ref: '#/components/schemas/UploadData'}}}]
    HealthEnvelope:
      allOf: [{$ref: '#/components/schemas/SuccessEnvelope'}, {properties: {data: {$ref: '#/components/schemas/HealthData'}}}]

    # ---- requests ----
    InitSelectionRequest:
      type: object
      description: Exactly one of `video_id` / `video_url` must be non-empty.
      properties:
        video_id: {type: [string, 'null'], pattern: '^([0-9]{18,19})?$',
                   description: "A result video id of one of this account's tasks (at most 30 days old)."}
        video_url: {type: [string, 'null'], description: 'An http(s) URL of an MP4/MOV, or a URL returned by `POST /v1/files`.'}
        task_id: {type: [string, 'null'], pattern: '^([0-9]{18,19})?$',
                  description: 'Optional; with `video_id`, the task that produced that video.'}
    Point:
      type: object
      required: [x, y]
      description: A click in normalised display coordinates; (0,0) top-left, (1,1) bottom-right.
      properties:
        x: {type: number, minimum: 0, maximum: 1}
        y: {type: number, minimum: 0, maximum: 1}
        label: {type: integer, enum: [0, 1], default: 1, x-roto-extension: true, description: '1 include (default), 0 exclude. Roto extension.'}
    SelectionPointsRequest:
      type: object
      required: [session_id, frame_index, points]
      properties:
        session_id: {$ref: '#/components/schemas/Id'}
        frame_index: {type: integer, minimum: 0, maximum: 9007199254740991, description: '0-based frame of the normalised video; must be < total_frame.'}
        points: {type: array, minItems: 1, maxItems: 10, items: {$ref: '#/components/schemas/Point'}}
        object_id: {type: integer, minimum: 0, maximum: 9007199254740991, default: 0, x-roto-extension: true,
                    description: 'Which object the points belong to (Roto extension). Integers are JSON safe integers (|n| < 2^53).'}
    SessionRequest:
      type: object
      required: [session_id]
      properties:
        session_id: {$ref: '#/components/schemas/Id'}
    CreateTaskRequest:
      type: object
      required: [session_id, edit_mode, prompt]
      properties:
        session_id:
          $ref: '#/components/schemas/Id'
          description: A live session of the account.
        edit_mode: {type: string, enum: [addition, swap, removal]}
        image_list: {type: [array, 'null'], maxItems: 2, items: {$ref: '#/components/schemas/TaskImage'},
                     description: 'addition 1-2 items, swap exactly 1, removal none (empty or absent).'}
        prompt:
          type: string
          minLength: 1
          maxLength: 2500
          description: 'May reference `<<<video_1>>>` and `<<<image_N>>>` with N <= number of images (a higher N, or another video, is 1201). Stored and returned; it does not steer the local engine.'
        negative_prompt: {type: [string, 'null'], maxLength: 2500}
        model_name: {type: [string, 'null'], enum: [kling-v1-6, '', null], description: 'If present (non-empty), must be `kling-v1-6`.'}
        mode: {type: [string, 'null'], enum: [std, pro, '', null], default: std, description: '`pro` spends more time for higher quality.'}
        duration: {type: [string, 'null'], enum: ['5', '10', '', null], default: '5',
                   description: '"5" needs a 2-5.5 s session video, "10" a 7-10.5 s one (a string, not a number).'}
        watermark_info:
          oneOf: [{$ref: '#/components/schemas/WatermarkInfo'}, {type: 'null'}]
          description: '`{"enabled": true}` also produces a watermarked copy.'
        callback_url:
          type: [string, 'null']
          description: 'An absolute http(s) URL; must reach a public address (at creation and at every delivery). Every status change, `submitted` included, is POSTed there as the task object (Standard Webhooks signature headers when the account has a secret).'
        external_task_id:
          type: [string, 'null']
          maxLength: 256
          description: The caller's own id, unique per account (a duplicate is 1201); usable in `GET .../multi-elements/{id}`.
    TaskImage:
      type: object
      required: [image]
      properties:
        image:
          type: string
          minLength: 1
          description: 'An http(s) URL (same download rules as init-selection) or raw base64 (a `data:` prefix is refused). JPEG or PNG by content, <= 10 MB, each side >= 300 px, aspect ratio between 1:2.5 and 2.5:1.'
    WatermarkInfo:
      type: object
      properties:
        enabled: {type: boolean, default: false}

    # ---- responses ----
    InitSelectionData:
      type: object
      required: [status, session_id, final_unit_deduction, fps, original_duration, width, height, total_frame, normalized_video]
      properties:
        status: {type: integer, description: 0 on success.}
        session_id: {$ref: '#/components/schemas/Id'}
        final_unit_deduction: {$ref: '#/components/schemas/UnitDeduction'}
        fps: {type: number, description: 'Normalised frame rate: 24, 30 or 60.'}
        original_duration: {type: integer, description: Milliseconds.}
        width: {type: integer}
        height: {type: integer}
        total_frame: {type: integer}
        normalized_video: {$ref: '#/components/schemas/Url'}
    RLEMask:
      type: object
      required: [size, counts]
      properties:
        size: {type: array, items: {type: integer}, minItems: 2, maxItems: 2, description: '[height, width].'}
        counts: {type: string, description: COCO compressed RLE string (pycocotools `encode`), column-major.}
    PNGMask:
      type: object
      required: [size, base64]
      properties:
        size: {type: array, items: {type: integer}, minItems: 2, maxItems: 2, description: '[height, width].'}
        base64: {type: string, description: 'Raw base64 (no `data:` prefix) of a single-channel PNG, selected = white.'}
    ObjectMask:
      type: object
      required: [object_id, rle_mask]
      properties:
        object_id: {type: integer, minimum: 0}
        rle_mask: {$ref: '#/components/schemas/RLEMask'}
        png_mask: {$ref: '#/components/schemas/PNGMask'}
    FrameMasks:
      type: object
      required: [frame_index, rle_mask_list]
      properties:
        frame_index: {type: integer, minimum: 0}
        rle_mask_list: {type: array, items: {$ref: '#/components/schemas/ObjectMask'}}
    SelectionData:
      type: object
      required: [status, session_id, final_unit_deduction, res]
      properties:
        status: {type: integer, enum: [0, 1], description: 1 when no object could be segmented at the points.}
        session_id: {$ref: '#/components/schemas/Id'}
        final_unit_deduction: {$ref: '#/components/schemas/UnitDeduction'}
        res: {$ref: '#/components/schemas/FrameMasks'}
    SessionStatusData:
      type: object
      required: [status, session_id, final_unit_deduction]
      properties:
        status: {type: integer}
        session_id: {$ref: '#/components/schemas/Id'}
        final_unit_deduction: {$ref: '#/components/schemas/UnitDeduction'}
    PreviewData:
      type: object
      required: [status, session_id, final_unit_deduction, res]
      properties:
        status: {type: integer}
        session_id: {$ref: '#/components/schemas/Id'}
        final_unit_deduction: {$ref: '#/components/schemas/UnitDeduction'}
        res:
          type: object
          required: [video, video_cover, tracking_output]
          properties: {video: {$ref: '#/components/schemas/Url'}, video_cover: {$ref: '#/components/schemas/Url'},
                       tracking_output: {$ref: '#/components/schemas/Url'}}
    TrackingOutput:
      type: object
      description: The JSON file behind `tracking_output`; one `frames` entry per frame, in order (no PNGs).
      required: [session_id, width, height, fps, total_frame, objects, frames]
      properties:
        session_id: {$ref: '#/components/schemas/Id'}
        width: {type: integer}
        height: {type: integer}
        fps: {type: number}
        total_frame: {type: integer}
        objects: {type: array, items: {type: object, required: [object_id], properties: {object_id: {type: integer}}}}
        frames: {type: array, items: {$ref: '#/components/schemas/FrameMasks'}}
    TaskStatus:
      type: string
      enum: [submitted, processing, succeed, failed]
    TaskInfo:
      type: object
      required: [external_task_id]
      properties:
        external_task_id: {type: string, description: '`""` when the task has none.'}
    TaskCreatedData:
      type: object
      required: [task_id, task_status, session_id, task_info, created_at, updated_at]
      properties:
        task_id: {$ref: '#/components/schemas/Id'}
        task_status: {$ref: '#/components/schemas/TaskStatus'}
        session_id: {$ref: '#/components/schemas/Id'}
        task_info: {$ref: '#/components/schemas/TaskInfo'}
        created_at: {$ref: '#/components/schemas/Millis'}
        updated_at: {$ref: '#/components/schemas/Millis'}
    TaskVideo:
      type: object
      required: [id, session_id, url, watermark_url, duration]
      properties:
        id: {$ref: '#/components/schemas/Id', description: 'Usable as init-selection `video_id` for 30 days.'}
        session_id: {$ref: '#/components/schemas/Id'}
        url: {$ref: '#/components/schemas/Url'}
        watermark_url: {type: string, description: '`""` unless `watermark_info.enabled`.'}
        duration: {type: string, pattern: '^[0-9]+(\.[0-9]+)?$', description: 'Seconds, one decimal (`"5.0"`).'}
    TaskData:
      type: object
      description: A task as query, list and callbacks show it.
      required: [task_id, task_status, task_status_msg, task_info, task_result, watermark_info,
                 final_unit_deduction, created_at, updated_at]
      properties:
        task_id: {$ref: '#/components/schemas/Id'}
        task_status: {$ref: '#/components/schemas/TaskStatus'}
        task_status_msg: {type: string, description: 'Why it failed; `""` otherwise.'}
        task_info: {$ref: '#/components/schemas/TaskInfo'}
        task_result: {type: object, description: '`{}` until `succeed`; then `videos` holds one video.',
                      properties: {videos: {type: array, items: {$ref: '#/components/schemas/TaskVideo'}}}}
        watermark_info: {type: object, required: [enabled], properties: {enabled: {type: boolean}}}
        final_unit_deduction: {$ref: '#/components/schemas/UnitDeduction'}
        created_at: {$ref: '#/components/schemas/Millis'}
        updated_at: {$ref: '#/components/schemas/Millis'}
    UploadData:
      type: object
      required: [url, expires_at]
      properties:
        url: {$ref: '#/components/schemas/Url'}
        expires_at: {$ref: '#/components/schemas/Millis'}
    SessionStateData:
      type: object
      required: [session_id, fps, original_duration, width, height, total_frame, normalized_video,
                 created_at, expires_at, frames]
      properties:
        session_id: {$ref: '#/components/schemas/Id'}
        fps: {type: number}
        original_duration: {type: integer, description: Milliseconds.}
        width: {type: integer}
        height: {type: integer}
        total_frame: {type: integer}
        normalized_video: {$ref: '#/components/schemas/Url'}
        created_at: {$ref: '#/components/schemas/Millis'}
        expires_at: {$ref: '#/components/schemas/Millis'}
        frames:
          type: array
          description: "Marked frames in order, each with its objects' points (`label` always written)."
          items:
            type: object
            required: [frame_index, objects]
            properties:
              frame_index: {type: integer}
              objects:
                type: array
                items: {type: object, required: [object_id, points],
                        properties: {object_id: {type: integer}, points: {type: array, items: {$ref: '#/components/schemas/Point'}}}}
    HealthData:
      type: object
      required: [status, checks]
      properties:
        status: {type: string, description: '`ok` (healthz) or `ready` (readyz).'}
        checks: {type: object, additionalProperties: {type: string}, description: 'readyz: `database` and `storage`, each `ok` when healthy.'}
"""#
}
