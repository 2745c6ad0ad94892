#!/usr/bin/env python3
"""Writes docs/openapi.json (the OpenAPI 3.1 document of Sealbox's HTTP API) and embeds the same
bytes in Sources/HTTPServer/OpenAPIDocument.swift, which `/openapi.json` serves. Run it after
changing a route or a value type of Sources/HTTPServer; APIRouteTests fails while the two differ.

    python3 scripts/openapi.py
"""
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def obj(required, optional=None, extra=True):
    props = dict(required)
    props.update(optional or {})
    schema = {"type": "object", "properties": props, "required": sorted(required.keys())}
    return schema


S = {"type": "string"}
# What the server accepts, roughly (it checks more): guides generated test data toward real values.
DOMAIN_PATTERN = r"^[A-Za-z0-9]([A-Za-z0-9-]{0,20}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,20}[A-Za-z0-9])?)+$"
ADDRESS_PATTERN = r"^[A-Za-z0-9._+-]{1,30}@[A-Za-z0-9]([A-Za-z0-9-]{0,20}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,20}[A-Za-z0-9])?)+$"
ADDR = {"type": "string", "maxLength": 320, "pattern": ADDRESS_PATTERN}
I = {"type": "integer"}
B = {"type": "boolean"}
DT = {"type": "string", "format": "date-time"}
LIST = lambda item: {"type": "array", "items": item}

schemas = {
    "Error": obj({"error": obj({"code": S, "message": S})}),
    "Domain": obj({"name": S, "unicode": S, "created": DT}),
    "DomainCreate": obj({"name": {"type": "string", "maxLength": 253, "pattern": DOMAIN_PATTERN}}),
    "DomainList": obj({"domains": LIST(ref("Domain"))}),
    "DNSRecord": obj({"name": S, "type": S, "values": LIST(S), "zoneLine": S}, {"comment": S}),
    "DNSRecords": obj({"domain": S, "records": LIST(ref("DNSRecord")), "text": S}),
    "Alias": obj({"address": S, "store": B, "hasMailbox": B, "forwardTo": LIST(S), "webhooks": LIST(S), "sendAs": LIST(S),
                  "created": DT}, {"quotaBytes": I}),
    "AliasCreate": obj({"address": ADDR},
                       {"store": B, "forwardTo": LIST(ADDR), "webhooks": LIST(S), "quotaBytes": {"type": "integer", "minimum": 0},
                        "sendAs": LIST(S)}),
    "AliasList": obj({"aliases": LIST(ref("Alias"))}),
    "Deleted": obj({"deleted": LIST(S)}),
    "Password": obj({"id": S, "created": DT}, {"label": S, "lastUsed": DT}),
    "PasswordList": obj({"passwords": LIST(ref("Password"))}),
    "GeneratedPassword": obj({"id": S, "password": S}, {"label": S}),
    "LabelRequest": obj({}, {"label": {"type": "string", "maxLength": 100}}),
    "Queue": obj({
        "sealed": LIST(obj({"mailbox": S, "count": I, "bytes": I, "oldest": DT})),
        "outbound": LIST(obj({"id": I, "kind": {"type": "string", "enum": ["smtp", "webhook"]}, "target": S, "created": DT,
                              "attempts": I, "nextAttempt": DT}, {"lastError": S})),
    }),
    "RetryResult": obj({"due": I}),
    "BackupGeneration": obj({"id": S, "date": DT, "size": I}),
    "BackupStatus": obj({"configured": B, "mailboxes": LIST(obj({"address": S}, {"latest": ref("BackupGeneration")}))},
                        {"destination": S, "intervalSeconds": I}),
    "BackupRunRequest": obj({}, {"address": S}),
    "BackupResults": obj({"results": LIST(obj({"address": S, "ok": B, "detail": S}))}),
    "GenerationList": obj({"generations": LIST(ref("BackupGeneration"))}),
    "SignIn": obj({"address": S, "password": S}),
    "SessionInfo": obj({"address": S, "passwordId": S, "idleTimeoutSeconds": I, "absoluteTimeoutSeconds": I}),
    "Me": obj({"address": S, "passwordId": S, "authentication": {"type": "string", "enum": ["basic", "session"]}}),
    "Targets": obj({"forwardTo": LIST(S), "webhooks": LIST(S)}),
    "ForwardRequest": obj({"address": ADDR}),
    "WebhookRequest": obj({"url": S}),
    "Usage": obj({"address": S, "usedBytes": I, "folders": LIST(obj({"path": S, "messages": I, "unseen": I, "bytes": I}))},
                 {"quotaBytes": I}),
    "SearchHit": obj({"uid": I, "folder": S, "date": DT, "size": I}, {"subject": S, "from": S}),
    "SearchPage": obj({"results": LIST(ref("SearchHit")), "examined": I, "budgetExhausted": B}, {"next": S}),
    "ExportRequest": obj({"format": {"type": "string", "enum": ["mbox", "eml-zip", "sqlite"]}}, {"folder": S, "password": S}),
}


def json_body(name):
    return {"required": True, "content": {"application/json": {"schema": ref(name)}}}


def resp(status, name=None, description="OK", headers=None):
    r = {"description": description}
    if name:
        r["content"] = {"application/json": {"schema": ref(name)}}
    if headers:
        r["headers"] = headers
    return {str(status): r}


ERRORS = {"default": {"description": "An error: `{\"error\": {\"code\", \"message\"}}` (see docs/http-api.md for the codes)",
                      "content": {"application/json": {"schema": ref("Error")}}}}
ADMIN = [{"adminToken": []}]
OWNER = [{"basicAuth": []}, {"sessionCookie": []}]


def op(summary, tag, security, responses, body=None, params=None, op_id=None):
    o = {"summary": summary, "tags": [tag], "operationId": op_id, "security": security, "responses": {**responses, **ERRORS}}
    if body:
        o["requestBody"] = json_body(body)
    if params:
        o["parameters"] = params
    return o


def path_param(name, description, max_length=320):
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "string", "minLength": 1, "maxLength": max_length}}


def query_param(name, schema, description, required=False):
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}


DOMAIN = path_param("domain", "A domain of this node (ASCII or Unicode form).", 253)
DOMAIN["schema"]["pattern"] = DOMAIN_PATTERN
ADDRESS = path_param("address", "An address (percent-encode `@` as `%40` or leave it).")
ADDRESS["schema"]["pattern"] = ADDRESS_PATTERN
PWID = path_param("id", "A password id (as listed).", 64)
FLAG = {"type": "boolean"}

paths = {
    "/api/v1/admin/domains": {
        "get": op("List the domains", "admin", ADMIN, resp(200, "DomainList"), op_id="listDomains"),
        "post": op("Add a domain and make its DKIM keys", "admin", ADMIN, resp(201, "Domain", "Created"), body="DomainCreate",
                   op_id="addDomain"),
    },
    "/api/v1/admin/domains/{domain}": {
        "delete": op("Remove a domain that has no aliases left", "admin", ADMIN, {"204": {"description": "Removed"}},
                     params=[DOMAIN], op_id="removeDomain"),
    },
    "/api/v1/admin/domains/{domain}/dns": {
        "get": op("The DNS records the domain should publish (as `sealbox domain dns`)", "admin", ADMIN, resp(200, "DNSRecords"),
                  params=[DOMAIN], op_id="domainDNS"),
    },
    "/api/v1/admin/aliases": {
        "get": op("List aliases (all, or of one domain)", "admin", ADMIN, resp(200, "AliasList"),
                  params=[query_param("domain", {"type": "string", "minLength": 1, "maxLength": 253}, "Only this domain's aliases.")],
                  op_id="listAliases"),
        "post": op("Add an alias", "admin", ADMIN, resp(201, "Alias", "Created"), body="AliasCreate", op_id="addAlias"),
    },
    "/api/v1/admin/aliases/{address}": {
        "get": op("One alias", "admin", ADMIN, resp(200, "Alias"), params=[ADDRESS], op_id="getAlias"),
        "delete": op("Remove an alias; with purge=true also its mailbox, queued mail and backups", "admin", ADMIN,
                     resp(200, "Deleted"), params=[ADDRESS, query_param("purge", FLAG, "Delete the mailbox too (required when it has one).")],
                     op_id="removeAlias"),
    },
    "/api/v1/admin/aliases/{address}/passwords": {
        "get": op("List an alias's passwords (ids and labels)", "admin", ADMIN, resp(200, "PasswordList"), params=[ADDRESS],
                  op_id="listAliasPasswords"),
        "post": op("Generate the first password of an alias (creates its mailbox); returned once", "admin", ADMIN,
                   resp(201, "GeneratedPassword", "Created"), body="LabelRequest", params=[ADDRESS], op_id="generateAliasPassword"),
    },
    "/api/v1/admin/aliases/{address}/passwords/{id}": {
        "delete": op("Revoke a password (force=true for the last one)", "admin", ADMIN, {"204": {"description": "Revoked"}},
                     params=[ADDRESS, PWID, query_param("force", FLAG, "Allow revoking the last password.")], op_id="revokeAliasPassword"),
    },
    "/api/v1/admin/queue": {
        "get": op("What waits: sealed mail for locked mailboxes, outbound jobs", "admin", ADMIN, resp(200, "Queue"), op_id="queue"),
    },
    "/api/v1/admin/queue/retry": {
        "post": op("Make every outbound job due now", "admin", ADMIN, resp(200, "RetryResult"), op_id="retryQueue"),
    },
    "/api/v1/admin/backups": {
        "get": op("Backup configuration and each mailbox's latest generation", "admin", ADMIN, resp(200, "BackupStatus"),
                  op_id="backupStatus"),
        "post": op("Back up one mailbox (address) or all now", "admin", ADMIN, resp(200, "BackupResults"), body="BackupRunRequest",
                   op_id="runBackup"),
    },
    "/api/v1/admin/backups/{address}": {
        "get": op("The backup generations of a mailbox", "admin", ADMIN, resp(200, "GenerationList"), params=[ADDRESS],
                  op_id="listBackups"),
    },
    "/api/v1/session": {
        "post": op("Sign in: sets the sealbox_session cookie", "owner", [], resp(201, "SessionInfo", "Signed in",
                   headers={"Set-Cookie": {"schema": S, "description": "sealbox_session=…; Path=/; HttpOnly; SameSite=Strict[; Secure]"}}),
                   body="SignIn", op_id="signIn"),
        "delete": op("Sign out: ends the session and clears the cookie", "owner", [{"sessionCookie": []}, {}],
                     {"204": {"description": "Signed out"}}, op_id="signOut"),
    },
    "/api/v1/me": {
        "get": op("Who is signed in", "owner", OWNER, resp(200, "Me"), op_id="me"),
    },
    "/api/v1/me/passwords": {
        "get": op("List my passwords (ids and labels)", "owner", OWNER, resp(200, "PasswordList"), op_id="listMyPasswords"),
        "post": op("Generate a new password of my mailbox; returned once", "owner", OWNER, resp(201, "GeneratedPassword", "Created"),
                   body="LabelRequest", op_id="generateMyPassword"),
    },
    "/api/v1/me/passwords/{id}": {
        "delete": op("Revoke one of my passwords (force=true for the one signed in with, or the last)", "owner", OWNER,
                     {"204": {"description": "Revoked"}}, params=[PWID, query_param("force", FLAG, "Allow the current or last password.")],
                     op_id="revokeMyPassword"),
    },
    "/api/v1/me/targets": {
        "get": op("My forwards and webhooks", "owner", OWNER, resp(200, "Targets"), op_id="myTargets"),
    },
    "/api/v1/me/forwards": {
        "post": op("Forward a copy of my mail to an address", "owner", OWNER, resp(201, "Targets", "Added"), body="ForwardRequest",
                   op_id="addForward"),
    },
    "/api/v1/me/forwards/{address}": {
        "delete": op("Stop forwarding to an address", "owner", OWNER, resp(200, "Targets"), params=[ADDRESS], op_id="removeForward"),
    },
    "/api/v1/me/webhooks": {
        "post": op("POST each of my messages to a URL", "owner", OWNER, resp(201, "Targets", "Added"), body="WebhookRequest",
                   op_id="addWebhook"),
        "delete": op("Remove a webhook", "owner", OWNER, resp(200, "Targets"),
                     params=[query_param("url", {"type": "string", "minLength": 1, "maxLength": 2048}, "The webhook URL.", True)],
                     op_id="removeWebhook"),
    },
    "/api/v1/me/usage": {
        "get": op("Storage used, my quota, and each folder's counts", "owner", OWNER, resp(200, "Usage"), op_id="usage"),
    },
    "/api/v1/me/search": {
        "get": op("Search my mail: full-text, or a POSIX extended regular expression (bounded)", "owner", OWNER, resp(200, "SearchPage"),
                  params=[query_param("q", {"type": "string", "minLength": 1, "maxLength": 1024}, "The text or the pattern.", True),
                          query_param("mode", {"type": "string", "enum": ["text", "regex"]}, "text (default) or regex."),
                          query_param("folder", {"type": "string", "minLength": 1, "maxLength": 1024}, "Only this folder."),
                          query_param("caseInsensitive", FLAG, "Default true."),
                          query_param("limit", {"type": "integer", "minimum": 1, "maximum": 200}, "Results per page (default 50)."),
                          query_param("cursor", {"type": "string", "minLength": 1, "maxLength": 64}, "The previous page's `next`.")],
                  op_id="search"),
    },
    "/api/v1/me/export": {
        "get": op("Download my mail (streamed): mbox of one folder, a zip of .eml files, or the encrypted SQLite file", "owner", OWNER,
                  {"200": {"description": "The export", "content": {"application/mbox": {"schema": {"type": "string"}},
                                                                    "application/zip": {"schema": {"type": "string"}},
                                                                    "application/vnd.sqlite3": {"schema": {"type": "string"}}}}},
                  params=[query_param("format", {"type": "string", "enum": ["mbox", "eml-zip", "sqlite"]}, "Default mbox."),
                          query_param("folder", {"type": "string", "minLength": 1, "maxLength": 1024},
                                      "mbox: the folder (default INBOX); eml-zip: only this folder.")],
                  op_id="export"),
        "post": op("The same download, with the password in the body (the sqlite format needs it when signed in with a session)",
                   "owner", OWNER,
                   {"200": {"description": "The export", "content": {"application/mbox": {"schema": {"type": "string"}},
                                                                     "application/zip": {"schema": {"type": "string"}},
                                                                     "application/vnd.sqlite3": {"schema": {"type": "string"}}}}},
                   body="ExportRequest", op_id="exportWithPassword"),
    },
    "/healthz": {
        "get": {"summary": "The process answers", "tags": ["meta"], "operationId": "healthz", "security": [],
                "responses": {"200": {"description": "ok", "content": {"text/plain": {"schema": {"type": "string"}}}}}},
    },
    "/readyz": {
        "get": {"summary": "The node can serve (503 with the reasons otherwise)", "tags": ["meta"], "operationId": "readyz", "security": [],
                "responses": {"200": {"description": "ready", "content": {"text/plain": {"schema": {"type": "string"}}}},
                              "503": {"description": "not ready: one reason a line", "content": {"text/plain": {"schema": {"type": "string"}}}}}},
    },
    "/openapi.json": {
        "get": {"summary": "This document", "tags": ["meta"], "operationId": "openapi", "security": [],
                "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}}},
    },
}

document = {
    "openapi": "3.1.0",
    "info": {
        "title": "Sealbox HTTP API",
        "version": "1",
        "description": "The admin API (bearer admin tokens from `sealbox admin token create`) and the mailbox owner's API "
                       "(HTTP Basic with the address and one of its passwords, or the `sealbox_session` cookie from "
                       "POST /api/v1/session). Errors are `{\"error\": {\"code\", \"message\"}}`. See docs/http-api.md.",
        "license": {"name": "See the repository"},
    },
    "servers": [{"url": "/"}],
    "tags": [{"name": "admin"}, {"name": "owner"}, {"name": "meta"}],
    "paths": paths,
    "components": {
        "schemas": schemas,
        "securitySchemes": {
            "adminToken": {"type": "http", "scheme": "bearer", "description": "An admin token (`sealbox admin token create`)."},
            "basicAuth": {"type": "http", "scheme": "basic", "description": "The mailbox address and one of its passwords."},
            "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "sealbox_session",
                              "description": "From POST /api/v1/session; 15 minutes idle, 8 hours at most."},
        },
    },
}

text = json.dumps(document, indent=2, sort_keys=False, ensure_ascii=False)
assert '"""#' not in text
with open(os.path.join(ROOT, "docs", "openapi.json"), "w", encoding="utf-8") as f:
    f.write(text + "\n")
with open(os.path.join(ROOT, "Sources", "HTTPServer", "OpenAPIDocument.swift"), "w", encoding="utf-8") as f:
    f.write("// Generated by scripts/openapi.py from the same data as docs/openapi.json: do not edit.\n")
    f.write("enum OpenAPIDocument {\n    static let json = #\"\"\"\n")
    f.write(text)
    f.write("\n\"\"\"#\n}\n")
print("wrote docs/openapi.json and Sources/HTTPServer/OpenAPIDocument.swift")
