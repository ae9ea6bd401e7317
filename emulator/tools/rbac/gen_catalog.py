#!/usr/bin/env python3
"""Build or check emulator/src/rbac/roles/builtin-roles.json, the built-in role catalog.

  python3 tools/rbac/gen_catalog.py SOURCE.json           # rewrite the catalog from SOURCE
  python3 tools/rbac/gen_catalog.py --check SOURCE.json   # fail unless it is what SOURCE gives
  python3 tools/rbac/gen_catalog.py --check               # fail unless the catalog is well formed

(run from emulator/). SOURCE is a JSON array of role definitions in one of two shapes:
  * Get-AzRoleDefinition style, as in the pinned source (src/rbac/roles/SOURCE.md):
    {"id": "/providers/Microsoft.Authorization/RoleDefinitions/<guid>", "name": <role name>,
     "type": "BuiltInRole", "description", "assignableScopes", "permissions"};
  * `az role definition list` style: {"name": <guid>, "roleName", "roleType", "description",
    "assignableScopes", "permissions", "createdOn"?, "updatedOn"?, ...}.
Only built-in roles are kept. Values are copied as given (no trimming: ARM returns the same
quirks); PascalCase permission keys (`Actions`, `Condition`, ...) become camelCase.

Roles of the current catalog that SOURCE lacks are kept (and listed), so that a refresh
from an older or partial dump never drops a role the emulator served.
Output: one role per line, sorted by id, so that a refresh shows as a per-role diff.
"""
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CRATE = os.path.dirname(os.path.dirname(HERE))
DST = os.path.join(CRATE, "src", "rbac", "roles", "builtin-roles.json")

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
LISTS = ("actions", "notActions", "dataActions", "notDataActions")
PERM_KEYS = {k.lower(): k for k in LISTS + ("condition", "conditionVersion")}

# createdOn/updatedOn seen in public sources for a few roles (the pinned dump has none; an
# `az role definition list` dump carries them and wins). See tools/rbac/NOTES.md.
TIMESTAMPS = {
    # Reader: azure-docs role-definitions example output.
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": ("2015-02-02T21:55:09.8806423Z", "2021-11-11T20:13:47.8628684Z"),
    # Owner: a captured ARM response in a public test fixture.
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": ("2015-02-02T21:55:09.8806423Z", "2020-08-14T20:13:58.4137852Z"),
    # azure-rbac-catalog.org / azadvertizer.net snapshots of ARM output (fewer digits).
    "b24988ac-6180-42a0-ab88-20f7382dd24c": ("2015-02-02T21:55:09.88Z", "2024-11-21T20:29:48.368Z"),
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168": ("2022-09-06T22:26:26.407Z", "2023-11-10T21:06:25.701Z"),
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": ("2015-02-02T21:55:09Z", "2021-11-11T20:13:57Z"),
    "3913510d-42f4-4e42-8a64-420c390055eb": ("2018-08-14T00:36:16.561Z", "2022-01-04T00:38:04.028Z"),
    "73c42c96-874c-492b-b04d-ab87d138a893": ("2017-05-02T00:20:28.144Z", "2025-12-17T09:58:12.949Z"),
    "92aaf0da-9dab-42b6-94a3-d43ce8d16293": ("2017-04-25T21:51:45.317Z", "2025-12-17T10:01:15.704Z"),
    "3b03c2da-16b3-4a49-8834-0f8130efdd3b": ("2025-09-15T15:09:07.556Z", "2025-09-15T15:09:07.556Z"),
}


def fail(msg):
    sys.exit(f"gen_catalog.py: {msg}")


def permission(role, block):
    out = {}
    for key, value in block.items():
        k = PERM_KEYS.get(key.lower())
        if k is None or k in out:
            fail(f"{role}: bad or repeated permission key {key!r}")
        out[k] = value
    for k in LISTS:
        v = out.get(k) or []
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            fail(f"{role}: {k} is not a list of strings")
        out[k] = v
    res = {k: out[k] for k in LISTS}
    if out.get("condition") is not None:
        res["condition"] = out["condition"]
        res["conditionVersion"] = out.get("conditionVersion") or "2.0"
    return res


def normalize(raw):
    if "roleName" in raw:  # az role definition list
        if raw.get("roleType", raw.get("type")) != "BuiltInRole":
            return None
        guid, name = raw["name"], raw["roleName"]
    else:  # Get-AzRoleDefinition
        if raw.get("type") != "BuiltInRole":
            return None
        guid, name = raw["id"].rsplit("/", 1)[-1], raw["name"]
    guid = guid.lower()
    if not GUID.match(guid):
        fail(f"{name}: id {guid!r} is not a GUID")
    role = {
        "id": guid,
        "roleName": name,
        "description": raw.get("description") or "",
        "assignableScopes": raw.get("assignableScopes") or ["/"],
        "permissions": [permission(name, b) for b in raw.get("permissions") or []],
    }
    created, updated = raw.get("createdOn"), raw.get("updatedOn")
    if not (created and updated) and guid in TIMESTAMPS:
        created, updated = TIMESTAMPS[guid]
    if created and updated:
        role["createdOn"], role["updatedOn"] = created, updated
    return role


def render(roles):
    lines = [json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in roles]
    return "[\n" + ",\n".join(lines) + "\n]\n"


def validate(roles):
    ids = [r["id"] for r in roles]
    if ids != sorted(ids) or len(set(ids)) != len(ids):
        fail("ids are not unique and sorted")
    names = [r["roleName"].lower() for r in roles]
    if len(set(names)) != len(names):
        fail("role names are not unique (case-insensitively)")
    for r in roles:
        if not GUID.match(r["id"]) or not r["permissions"] or not r["assignableScopes"]:
            fail(f"{r['roleName']}: bad id, permissions or assignable scopes")


def build(source_path):
    source = json.load(open(source_path, encoding="utf-8"))
    roles = {r["id"]: r for r in filter(None, map(normalize, source))}
    current = json.load(open(DST, encoding="utf-8")) if os.path.exists(DST) else []
    kept = [r for r in current if r["id"] not in roles]
    for r in kept:
        print(f"kept (not in the source): {r['roleName']} {r['id']}", file=sys.stderr)
        roles[r["id"]] = r
    out = sorted(roles.values(), key=lambda r: r["id"])
    validate(out)
    return out


def main(argv):
    check = "--check" in argv
    args = [a for a in argv if a != "--check"]
    if len(args) > 1:
        fail(__doc__)
    if not args:
        if not check:
            fail("name a source file, or --check")
        roles = json.load(open(DST, encoding="utf-8"))
        validate(roles)
        if render(roles) != open(DST, encoding="utf-8").read():
            fail("not in the generator's layout")
        print(f"{DST}: {len(roles)} roles, well formed")
        return
    text = render(build(args[0]))
    if check:
        if text != open(DST, encoding="utf-8").read():
            fail(f"{DST} differs from what {args[0]} gives: rerun without --check")
        print(f"{DST} is what {args[0]} gives")
        return
    open(DST, "w", encoding="utf-8").write(text)
    print(f"wrote {text.count(chr(10)) - 2} roles to {DST}")


if __name__ == "__main__":
    main(sys.argv[1:])
