#!/usr/bin/env python3
"""Checks that every Terraform resource type, argument and nested block in the
rendered HCL exists in the AWS provider's schema.

The schema comes from the @cdktf/provider-aws package's .jsii file (a
TypeScript description generated from the provider schema): each resource
class documents its Terraform type, and its Config struct lists the arguments
(camelCase) with nested blocks as struct types. No provider download needed.

Usage: check-tf-schema.py JSII_FILE MAIN_TF...
"""
import json
import re
import sys

import hcl2

META = {"depends_on", "count", "for_each", "provider", "lifecycle"}


def snake(name):
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def load_schema(path):
    types = json.load(open(path))["types"]
    resources = {}
    for fqn, t in types.items():
        if t.get("kind") != "class":
            continue
        summary = t.get("docs", {}).get("summary", "")
        m = re.search(r"/docs/resources/([a-z0-9_]+) ", summary)
        if m and not fqn.split(".")[-1].startswith("DataAws"):
            resources["aws_" + m.group(1)] = fqn + "Config"
    return types, resources


def struct_fields(types, fqn):
    t = types.get(fqn)
    if t is None:
        return None
    fields = {}
    for p in t.get("properties", []):
        fields[snake(p["name"])] = p["type"]
    for base in t.get("interfaces", []):
        if base in types:
            fields.update(struct_fields(types, base) or {})
    return fields


def nested_fqn(ty):
    if "fqn" in ty:
        return ty["fqn"]
    if "collection" in ty:
        return nested_fqn(ty["collection"]["elementtype"])
    if "union" in ty:
        for u in ty["union"]["types"]:
            f = nested_fqn(u)
            if f and not f.startswith("cdktf."):
                return f
    return None


def check_body(types, fqn, body, where, errors):
    fields = struct_fields(types, fqn)
    if fields is None:
        errors.append(f"{where}: no schema for {fqn}")
        return
    for key, value in body.items():
        if key in META or key.startswith("__"):
            continue
        if key not in fields:
            errors.append(f"{where}: `{key}` is not an argument or block of this resource in the AWS provider schema")
            continue
        sub = nested_fqn(fields[key])
        # Nested blocks parse as lists of dicts; object-valued arguments (maps) are dicts.
        if sub and not sub.startswith("cdktf.") and isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    check_body(types, sub, item, f"{where}.{key}", errors)


def main():
    types, resources = load_schema(sys.argv[1])
    errors = []
    checked = 0
    for path in sys.argv[2:]:
        with open(path) as f:
            doc = hcl2.load(f)
        for block in doc.get("resource", []):
            for rtype, named in block.items():
                for name, body in named.items():
                    where = f"{path}: {rtype}.{name}"
                    if rtype not in resources:
                        errors.append(f"{where}: resource type {rtype} does not exist in the AWS provider")
                        continue
                    check_body(types, resources[rtype], body, where, errors)
                    checked += 1
    for e in errors:
        print(e)
    print(f"{checked} resources checked against the provider schema, {len(errors)} problems")
    sys.exit(1 if errors or checked == 0 else 0)


if __name__ == "__main__":
    main()
