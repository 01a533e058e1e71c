#!/usr/bin/env bash
# Renders every environment and checks the output with the real tools:
#   cfn-lint (0 errors, 0 warnings), checkov (CloudFormation and Terraform),
#   cfn-guard with the AWS Control Tower rules, terraform fmt -check,
#   terraform validate (only the missing provider may be reported: no provider
#   can be downloaded here), and every Terraform type/argument against the AWS
#   provider schema. Checks in checks/suppressions.tsv are skipped, each with
#   its reason; a suppression that no longer fails anything is an error, so
#   the list cannot go stale.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-checkers.sh >/dev/null

venv=.venv/checkers
guard_pkg=.tools/node/node_modules/@cdklabs/cdk-validator-cfnguard
case "$(uname -m)" in
  aarch64|arm64) guard="$guard_pkg/bin/ubuntu/aarch64/cfn-guard" ;;
  *) guard="$guard_pkg/bin/ubuntu/x86_64/cfn-guard" ;;
esac
jsii=.tools/node/node_modules/@cdktf/provider-aws/.jsii
out=out/check
rm -rf "$out"
# PIPEGEN_BIN: a pipegen binary already built (CI passes the one `cargo test
# --workspace` built; `cargo run -p pipegen` alone would resolve features for
# that one package and rebuild shared dependencies).
if [[ -n ${PIPEGEN_BIN:-} ]]; then
  "$PIPEGEN_BIN" render --all --out "$out" >/dev/null
else
  cargo run --locked -q -p pipegen -- render --all --out "$out" >/dev/null
fi
envs=$(ls "$out")
fail=0
step() { printf '\n--> %s\n' "$*"; }

suppressed() { grep -v '^#' checks/suppressions.tsv | awk -F'\t' -v t="$1" '$1 == t { print $2 }'; }
checkov_skip=$(suppressed checkov | paste -sd, -)

step "cfn-lint"
"$venv/bin/cfn-lint" "$out"/*/template.yaml || { echo "cfn-lint found problems"; fail=1; }

step "checkov (cloudformation)"
"$venv/bin/checkov" --skip-download --quiet --compact --framework cloudformation \
  --skip-check "$checkov_skip" -d "$out" || { echo "checkov (cloudformation) failed"; fail=1; }

step "checkov (terraform)"
for e in $envs; do
  "$venv/bin/checkov" --skip-download --quiet --compact --framework terraform \
    --skip-check "$checkov_skip" -d "$out/$e" >/tmp/checkov-tf.txt 2>&1 || { cat /tmp/checkov-tf.txt; echo "checkov (terraform) failed for $e"; fail=1; }
done

step "cfn-guard (AWS Control Tower rules)"
rules=()
skip_rules=$(suppressed cfn-guard)
while IFS= read -r f; do
  base=$(basename "$f")
  grep -qxF "$base" <<<"$skip_rules" || rules+=(--rules "$f")
done < <(find "$guard_pkg/rules/control-tower/cfn-guard" -name '*.guard' | sort)
for e in $envs; do
  if ! "$guard" validate --data "$out/$e/template.yaml" "${rules[@]}" --show-summary fail \
       --output-format single-line-summary >/tmp/guard.txt 2>&1; then
    grep -E 'FAIL|Violation|\[FIX\]' /tmp/guard.txt | head -40
    echo "cfn-guard failed for $e"; fail=1
  fi
done

step "stale suppressions"
"$venv/bin/checkov" --skip-download --quiet --compact --framework cloudformation,terraform -d "$out/base" \
  -o json >/tmp/checkov-all.json 2>/dev/null || true
for id in $(suppressed checkov); do
  grep -q "\"check_id\": \"$id\"" /tmp/checkov-all.json || { echo "suppression $id no longer fails anything: remove it"; fail=1; }
done
for r in $skip_rules; do
  f=$(find "$guard_pkg/rules/control-tower/cfn-guard" -name "$r")
  if "$guard" validate --data "$out/base/template.yaml" --rules "$f" --show-summary none >/dev/null 2>&1; then
    echo "suppression $r no longer fails anything: remove it"; fail=1
  fi
done

step "terraform fmt -check"
terraform fmt -check -recursive -diff "$out" || { echo "terraform fmt would change the output"; fail=1; }

step "terraform validate (only the missing provider may be reported)"
for e in $envs; do
  (cd "$out/$e" && terraform validate -json -no-color 2>/dev/null || true) >/tmp/tfvalidate.json
  "$venv/bin/python" - "$e" <<'PY' || fail=1
import json, sys
doc = json.load(open("/tmp/tfvalidate.json"))
other = [d for d in doc.get("diagnostics", []) if d.get("summary") != "Missing required provider"]
for d in other:
    print(f"{sys.argv[1]}: {d.get('severity')}: {d.get('summary')}: {d.get('detail')}")
sys.exit(1 if other else 0)
PY
done

step "terraform against the AWS provider schema"
.venv/hcl2/bin/python scripts/check-tf-schema.py "$jsii" "$out"/*/main.tf || fail=1

if ((fail)); then
  echo; echo "rendered infrastructure checks FAILED"; exit 1
fi
echo; echo "rendered infrastructure checks passed ($(wc -w <<<"$envs") environments)"
