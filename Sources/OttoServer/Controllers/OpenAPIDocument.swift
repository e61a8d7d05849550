/// The OpenAPI 3.1 description of the external API, served at `GET /external/openapi.json`. A test calls every
/// operation listed here and validates the real responses against these schemas, so it cannot drift.
enum OpenAPIDocument {
    static let json = #"""
        {
          "openapi": "3.1.0",
          "info": {
            "title": "Otto external API",
            "version": "1.0.0",
            "description": "Model catalog, flow defaults, scheduled jobs and audit of an Otto runtime. Every operation except this document needs Authorization: Bearer <token>, the token in <ottoHome>/secrets/internal-api.token."
          },
          "security": [{"bearer": []}],
          "paths": {
            "/external/openapi.json": {
              "get": {"operationId": "getOpenAPI", "security": [], "summary": "This document.",
                "responses": {"200": {"description": "The OpenAPI document.", "content": {"application/json": {"schema": {"type": "object"}}}}}}
            },
            "/external/health": {
              "get": {"operationId": "getHealth", "summary": "Liveness and catalog state.",
                "responses": {"200": {"$ref": "#/components/responses/Health"}, "401": {"$ref": "#/components/responses/Error"}}}
            },
            "/external/models/catalog": {
              "get": {"operationId": "getCatalog", "summary": "Every model OpenCode offers, as provider/model.",
                "responses": {"200": {"description": "The catalog.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Catalog"}}}},
                  "401": {"$ref": "#/components/responses/Error"}}}
            },
            "/external/models/refresh": {
              "post": {"operationId": "refreshCatalog", "summary": "Fetch the catalog from OpenCode now.",
                "responses": {"200": {"description": "Refreshed.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RefreshResult"}}}},
                  "401": {"$ref": "#/components/responses/Error"},
                  "502": {"$ref": "#/components/responses/Error"}}}
            },
            "/external/models/defaults": {
              "get": {"operationId": "getFlowDefaults", "summary": "The model of each runtime flow (null = inherit).",
                "responses": {"200": {"$ref": "#/components/responses/FlowDefaults"}, "401": {"$ref": "#/components/responses/Error"}}},
              "put": {"operationId": "putFlowDefaults", "summary": "Replace all four flow defaults.",
                "parameters": [{"name": "If-Match", "in": "header", "required": false, "description": "ETag from a previous read; a stale one is refused with 412.", "schema": {"type": "string"}}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/FlowDefaultsBody"}}}},
                "responses": {"200": {"$ref": "#/components/responses/FlowDefaults"},
                  "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"},
                  "412": {"$ref": "#/components/responses/Error"}, "413": {"$ref": "#/components/responses/Error"},
                  "415": {"$ref": "#/components/responses/Error"}}}
            },
            "/external/models/effective": {
              "get": {"operationId": "getEffectiveModels", "summary": "The model each flow runs on now (after fallbacks), and OpenCode's global default.",
                "responses": {"200": {"description": "Effective models.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EffectiveModels"}}}},
                  "401": {"$ref": "#/components/responses/Error"}}}
            },
            "/external/jobs": {
              "get": {"operationId": "listJobs", "summary": "All jobs in creation order, optionally of one type; with limit, one page of them.",
                "parameters": [{"name": "type", "in": "query", "required": false, "schema": {"type": "string"}},
                  {"name": "limit", "in": "query", "required": false, "description": "At most this many jobs; without it, every job.", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
                  {"name": "cursor", "in": "query", "required": false, "description": "The nextCursor of the previous page.", "schema": {"type": "string", "maxLength": 2048}}],
                "responses": {"200": {"description": "The jobs.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JobList"}}}},
                  "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"}}},
              "post": {"operationId": "createJob", "summary": "Create a job.",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JobCreate"}}}},
                "responses": {"201": {"$ref": "#/components/responses/JobMutation"},
                  "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"},
                  "403": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Error"}}}
            },
            "/external/jobs/{id}": {
              "parameters": [{"$ref": "#/components/parameters/JobId"}],
              "get": {"operationId": "getJob", "summary": "One job.",
                "responses": {"200": {"description": "The job.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JobEnvelope"}}}},
                  "401": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}},
              "patch": {"operationId": "updateJob", "summary": "Change some fields of a job; modelRef null = inherit.",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JobPatch"}}}},
                "responses": {"200": {"$ref": "#/components/responses/JobMutation"},
                  "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"},
                  "403": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"},
                  "409": {"$ref": "#/components/responses/Error"}}},
              "delete": {"operationId": "deleteJob", "summary": "Cancel a job (its history is kept).",
                "responses": {"200": {"$ref": "#/components/responses/JobMutation"},
                  "401": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"},
                  "404": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Error"}}}
            },
            "/external/jobs/{id}/run-now": {
              "parameters": [{"$ref": "#/components/parameters/JobId"}],
              "post": {"operationId": "runJobNow", "summary": "Schedule the job to run now.",
                "responses": {"200": {"$ref": "#/components/responses/JobMutation"},
                  "401": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"},
                  "404": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Error"}}}
            },
            "/external/jobs/{id}/audit": {
              "parameters": [{"$ref": "#/components/parameters/JobId"}],
              "get": {"operationId": "getJobAudit", "summary": "The job's changes, newest first.",
                "parameters": [{"$ref": "#/components/parameters/Limit"}],
                "responses": {"200": {"description": "Audit entries.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TaskAudit"}}}},
                  "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"},
                  "404": {"$ref": "#/components/responses/Error"}}}
            },
            "/external/jobs/{id}/runs": {
              "parameters": [{"$ref": "#/components/parameters/JobId"}],
              "get": {"operationId": "listJobRuns", "summary": "The job's runs, newest first.",
                "parameters": [{"$ref": "#/components/parameters/Limit"},
                  {"name": "offset", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 0, "default": 0}}],
                "responses": {"200": {"description": "A page of runs.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JobRuns"}}}},
                  "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"},
                  "404": {"$ref": "#/components/responses/Error"}}}
            },
            "/external/jobs/{id}/runs/{runId}": {
              "parameters": [{"$ref": "#/components/parameters/JobId"},
                {"name": "runId", "in": "path", "required": true, "schema": {"type": "string"}}],
              "get": {"operationId": "getJobRun", "summary": "One run of the job.",
                "responses": {"200": {"description": "The run.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JobRunEnvelope"}}}},
                  "401": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}}
            },
            "/external/audit": {
              "get": {"operationId": "getCommandAudit", "summary": "Catalog refreshes and defaults updates, newest first.",
                "parameters": [{"$ref": "#/components/parameters/Limit"},
                  {"name": "command", "in": "query", "required": false, "schema": {"type": "string", "examples": ["external_models_refresh", "external_models_defaults_update"]}}],
                "responses": {"200": {"description": "Audit entries.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CommandAudit"}}}},
                  "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"}}}
            }
          },
          "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "parameters": {
              "JobId": {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
              "Limit": {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 20}}
            },
            "responses": {
              "Error": {"description": "An error.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
              "Health": {"description": "Healthy.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}},
              "FlowDefaults": {"description": "The flow defaults; the ETag header is their version.",
                "headers": {"ETag": {"schema": {"type": "string"}}},
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/FlowDefaultsBody"}}}},
              "JobMutation": {"description": "The job was changed.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JobMutation"}}}}
            },
            "schemas": {
              "ModelRef": {"type": "string", "description": "provider/model, split at the first /; the model part may hold /, spaces and other characters.", "pattern": "^[^/\\s]+/.+$"},
              "NullableModelRef": {"type": ["string", "null"], "pattern": "^[^/\\s]+/.+$"},
              "Error": {"type": "object", "additionalProperties": false, "required": ["error", "message"],
                "properties": {
                  "error": {"type": "string", "enum": ["invalid_request", "unauthorized", "forbidden_mutation", "not_found", "method_not_allowed", "state_conflict", "precondition_failed", "payload_too_large", "unsupported_media_type", "upstream_unavailable", "service_unavailable", "internal_error"]},
                  "message": {"type": "string"},
                  "details": {"type": "array", "items": {"type": "object", "additionalProperties": false, "required": ["path", "message"],
                    "properties": {"path": {"type": "string"}, "message": {"type": "string"}}}}}},
              "Health": {"type": "object", "additionalProperties": false, "required": ["status", "catalog"],
                "properties": {"status": {"type": "string", "enum": ["ok"]},
                  "catalog": {"type": "object", "additionalProperties": false, "required": ["count", "updatedAt", "source"],
                    "properties": {"count": {"type": "integer"}, "updatedAt": {"type": ["integer", "null"]}, "source": {"type": "string", "enum": ["network", "cache"]}}}}},
              "Catalog": {"type": "object", "additionalProperties": false, "required": ["models", "updatedAt", "source"],
                "properties": {"models": {"type": "array", "items": {"$ref": "#/components/schemas/ModelRef"}},
                  "updatedAt": {"type": ["integer", "null"]}, "source": {"type": "string", "enum": ["network", "cache"]}}},
              "RefreshResult": {"type": "object", "additionalProperties": false, "required": ["status", "updatedAt", "count"],
                "properties": {"status": {"type": "string", "enum": ["ok"]}, "updatedAt": {"type": "integer"}, "count": {"type": "integer"}}},
              "FlowDefaultsBody": {"type": "object", "additionalProperties": false, "required": ["flowDefaults"],
                "properties": {"flowDefaults": {"type": "object", "additionalProperties": false,
                  "required": ["interactiveAssistant", "scheduledTasks", "heartbeat", "watchdogFailures"],
                  "properties": {"interactiveAssistant": {"$ref": "#/components/schemas/NullableModelRef"},
                    "scheduledTasks": {"$ref": "#/components/schemas/NullableModelRef"},
                    "heartbeat": {"$ref": "#/components/schemas/NullableModelRef"},
                    "watchdogFailures": {"$ref": "#/components/schemas/NullableModelRef"}}}}},
              "EffectiveModel": {"type": "object", "additionalProperties": false, "required": ["ref", "source"],
                "properties": {"ref": {"$ref": "#/components/schemas/NullableModelRef"},
                  "source": {"type": "string", "enum": ["job", "flow_default", "global_default", "fallback_global_default", "unresolved"]}}},
              "EffectiveModels": {"type": "object", "additionalProperties": false, "required": ["flows", "globalDefault"],
                "properties": {"flows": {"type": "object", "additionalProperties": false,
                  "required": ["interactiveAssistant", "scheduledTasks", "heartbeat", "watchdogFailures"],
                  "properties": {"interactiveAssistant": {"$ref": "#/components/schemas/EffectiveModel"},
                    "scheduledTasks": {"$ref": "#/components/schemas/EffectiveModel"},
                    "heartbeat": {"$ref": "#/components/schemas/EffectiveModel"},
                    "watchdogFailures": {"$ref": "#/components/schemas/EffectiveModel"}}},
                  "globalDefault": {"$ref": "#/components/schemas/NullableModelRef"}}},
              "Job": {"type": "object", "additionalProperties": false,
                "required": ["id", "type", "status", "scheduleType", "profileId", "modelRef", "runAt", "cadenceMinutes", "payload", "lastRunAt", "nextRunAt", "terminalState", "terminalReason", "createdAt", "updatedAt", "managedBy", "isMutable", "effectiveModel"],
                "properties": {
                  "id": {"type": "string"}, "type": {"type": "string"},
                  "status": {"type": "string", "enum": ["idle", "running", "paused"]},
                  "scheduleType": {"type": "string", "enum": ["recurring", "oneshot"]},
                  "profileId": {"type": ["string", "null"]},
                  "modelRef": {"$ref": "#/components/schemas/NullableModelRef"},
                  "runAt": {"type": ["integer", "null"]}, "cadenceMinutes": {"type": ["integer", "null"]},
                  "payload": {"type": ["object", "null"]},
                  "lastRunAt": {"type": ["integer", "null"]}, "nextRunAt": {"type": ["integer", "null"]},
                  "terminalState": {"type": ["string", "null"], "enum": ["completed", "expired", "cancelled", null]},
                  "terminalReason": {"type": ["string", "null"]},
                  "createdAt": {"type": "integer"}, "updatedAt": {"type": "integer"},
                  "managedBy": {"type": "string", "enum": ["system", "operator"]},
                  "isMutable": {"type": "boolean"},
                  "effectiveModel": {"$ref": "#/components/schemas/EffectiveModel"}}},
              "JobList": {"type": "object", "additionalProperties": false, "required": ["jobs", "nextCursor"],
                "properties": {"jobs": {"type": "array", "items": {"$ref": "#/components/schemas/Job"}},
                  "nextCursor": {"type": ["string", "null"], "description": "Pass as cursor to get the next page; null after the last one."}}},
              "JobEnvelope": {"type": "object", "additionalProperties": false, "required": ["job"],
                "properties": {"job": {"$ref": "#/components/schemas/Job"}}},
              "JobCreate": {"type": "object", "additionalProperties": false, "required": ["type", "scheduleType"],
                "properties": {"id": {"type": "string"}, "type": {"type": "string", "minLength": 1},
                  "scheduleType": {"type": "string", "enum": ["recurring", "oneshot"]},
                  "runAt": {"type": ["integer", "null"], "description": "First run, epoch ms; defaults to now; required for oneshot."},
                  "cadenceMinutes": {"type": ["integer", "null"], "minimum": 1, "description": "Required for recurring."},
                  "payload": {"type": ["object", "null"]}, "profileId": {"type": ["string", "null"]},
                  "modelRef": {"$ref": "#/components/schemas/NullableModelRef"}}},
              "JobPatch": {"type": "object", "additionalProperties": false,
                "properties": {"type": {"type": "string", "minLength": 1},
                  "scheduleType": {"type": "string", "enum": ["recurring", "oneshot"]},
                  "runAt": {"type": ["integer", "null"]}, "cadenceMinutes": {"type": ["integer", "null"], "minimum": 1},
                  "payload": {"type": ["object", "null"]}, "profileId": {"type": ["string", "null"]},
                  "modelRef": {"$ref": "#/components/schemas/NullableModelRef", "description": "null = inherit the scheduledTasks flow default; absent = unchanged."}}},
              "JobMutation": {"type": "object", "additionalProperties": false, "required": ["id", "status"],
                "properties": {"id": {"type": "string"},
                  "status": {"type": "string", "enum": ["created", "updated", "deleted", "run_now_scheduled"]},
                  "scheduledFor": {"type": ["integer", "null"]}}},
              "TaskAudit": {"type": "object", "additionalProperties": false, "required": ["taskId", "entries"],
                "properties": {"taskId": {"type": "string"}, "entries": {"type": "array", "items": {"type": "object", "additionalProperties": false,
                  "required": ["id", "taskId", "action", "lane", "actor", "before", "after", "metadata", "createdAt"],
                  "properties": {"id": {"type": "integer"}, "taskId": {"type": "string"},
                    "action": {"type": "string", "enum": ["create", "update", "delete", "run_now"]},
                    "lane": {"type": "string"}, "actor": {"type": ["string", "null"]},
                    "before": {"type": ["object", "null"]}, "after": {"type": ["object", "null"]},
                    "metadata": {"type": ["object", "null"]}, "createdAt": {"type": "integer"}}}}}},
              "JobRun": {"type": "object", "additionalProperties": false,
                "required": ["id", "jobId", "scheduledFor", "startedAt", "finishedAt", "status", "errorCode", "errorMessage", "result", "modelRef", "modelSource", "createdAt"],
                "properties": {"id": {"type": "string"}, "jobId": {"type": "string"},
                  "scheduledFor": {"type": "integer"}, "startedAt": {"type": "integer"}, "finishedAt": {"type": ["integer", "null"]},
                  "status": {"type": "string", "enum": ["success", "failed", "skipped"]},
                  "errorCode": {"type": ["string", "null"]}, "errorMessage": {"type": ["string", "null"]},
                  "result": {}, "modelRef": {"type": ["string", "null"]},
                  "modelSource": {"type": ["string", "null"], "enum": ["job", "flow_default", "global_default", "fallback_global_default", null]},
                  "createdAt": {"type": "integer"}}},
              "JobRuns": {"type": "object", "additionalProperties": false, "required": ["taskId", "total", "limit", "offset", "runs"],
                "properties": {"taskId": {"type": "string"}, "total": {"type": "integer"}, "limit": {"type": "integer"},
                  "offset": {"type": "integer"}, "runs": {"type": "array", "items": {"$ref": "#/components/schemas/JobRun"}}}},
              "JobRunEnvelope": {"type": "object", "additionalProperties": false, "required": ["taskId", "run"],
                "properties": {"taskId": {"type": "string"}, "run": {"$ref": "#/components/schemas/JobRun"}}},
              "CommandAudit": {"type": "object", "additionalProperties": false, "required": ["entries"],
                "properties": {"entries": {"type": "array", "items": {"type": "object", "additionalProperties": false,
                  "required": ["id", "command", "status", "errorMessage", "metadata", "createdAt"],
                  "properties": {"id": {"type": "integer"}, "command": {"type": "string"},
                    "status": {"type": "string", "enum": ["success", "failed", "denied"]},
                    "errorMessage": {"type": ["string", "null"]}, "metadata": {"type": ["object", "null"]},
                    "createdAt": {"type": "integer"}}}}}}
            }
          }
        }
        """#
}
