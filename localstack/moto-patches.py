"""Fixes to the pinned moto that pipegen's CloudFormation tests need.

Each patch replaces one exact piece of moto's source with a corrected one.
It is idempotent (an applied patch is skipped) and loud: if moto's text is
neither the original nor the patched one, the pin moved and the patch must be
looked at again, so the install fails instead of testing against a moto that
behaves differently from what the tests were written for.

Run by localstack/moto.sh after installing moto into its venv.
"""
import pathlib
import sys

import moto

ROOT = pathlib.Path(moto.__file__).parent

PATCHES = [
    (
        # AWS::KMS::Key from CloudFormation: the template's Tags are
        # [{Key, Value}] (CloudFormation's shape), but moto passed them on as
        # the KMS API's [{TagKey, TagValue}], so any tagged key failed the
        # whole stack with a 500 (KeyError: 'TagKey').
        "kms/models.py",
        '            tags=properties.get("Tags", []),\n',
        '            tags=[{"TagKey": t["Key"], "TagValue": t["Value"]} for t in properties.get("Tags", [])],\n',
    ),
    (
        # ExecuteChangeSet applied the new template's resources but kept the
        # stack's outputs (and parsed template) from before, so a stack
        # deployed through change sets had no outputs at all.
        "cloudformation/models.py",
        '        stack.status = f"{change_set.change_set_type}_COMPLETE"\n        stack.template = change_set.template\n',
        '        stack.status = f"{change_set.change_set_type}_COMPLETE"\n        stack.template = change_set.template\n'
        '        stack._parse_template()\n        stack.output_map = stack._create_output_map()\n'
        '        for export in stack.exports:\n            self.exports[export.name] = export\n',
    ),
    (
        # DeleteStack failed with a 500 (KeyError) for an export that was
        # never registered, leaving the stack's resources half deleted.
        "cloudformation/models.py",
        "                self.exports.pop(export_name)\n",
        "                self.exports.pop(export_name, None)\n",
    ),
    (
        # DescribeStacks of a deleted stack computed its outputs, and computing
        # an output that names a resource re-created that resource: a deleted
        # stack's Kinesis stream and ECS cluster came back the moment anyone
        # looked at the stack's status after deleting it.
        "cloudformation/models.py",
        '        outputs = [\n            {\n                "OutputKey": o.key,\n',
        '        if self.status == "DELETE_COMPLETE":\n            return None\n'
        '        outputs = [\n            {\n                "OutputKey": o.key,\n',
    ),
    (
        # AWS::ECS::Cluster had no CloudFormation delete: a deleted stack
        # left its cluster behind.
        "ecs/models.py",
        "                cluster_name=new_resource_name\n            )\n        else:\n"
        "            # no-op when nothing changed between old and new resources\n            return original_resource\n",
        "                cluster_name=new_resource_name\n            )\n        else:\n"
        "            # no-op when nothing changed between old and new resources\n            return original_resource\n\n"
        "    @classmethod\n"
        "    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):  # type: ignore\n"
        "        ecs_backends[account_id][region_name].delete_cluster(resource_name)\n",
    ),
    (
        # AWS::S3::Bucket from CloudFormation ignored VersioningConfiguration,
        # so a versioned lake was not versioned in the emulator.
        "s3/models.py",
        '        if "Tags" in properties:\n            tags = TaggingService().flatten_tag_list(properties["Tags"])\n'
        '            backend.put_bucket_tagging(bucket_name=resource_name, tags=tags)  # type: ignore\n\n        return bucket\n',
        '        if "Tags" in properties:\n            tags = TaggingService().flatten_tag_list(properties["Tags"])\n'
        '            backend.put_bucket_tagging(bucket_name=resource_name, tags=tags)  # type: ignore\n'
        '        if "VersioningConfiguration" in properties:\n'
        '            backend.put_bucket_versioning(resource_name, properties["VersioningConfiguration"]["Status"])\n\n'
        '        return bucket\n',
    ),
]


def main() -> int:
    for rel, old, new in PATCHES:
        path = ROOT / rel
        text = path.read_text()
        if new in text:
            continue
        if text.count(old) != 1:
            print(f"moto-patches: {path}: the text to patch is not there once; moto changed", file=sys.stderr)
            return 1
        path.write_text(text.replace(old, new))
        print(f"moto-patches: patched {rel}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
