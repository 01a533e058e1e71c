#!/usr/bin/env bash
# Installs the infrastructure checkers the render tests run, at pinned
# versions, into git-ignored folders of the repository:
#   .venv/checkers   cfn-lint, checkov (PyPI)
#   .venv/hcl2       python-hcl2, to read the rendered Terraform
#   .tools/node      cfn-guard with the AWS Control Tower rules
#                    (@cdklabs/cdk-validator-cfnguard) and the AWS provider
#                    schema (@cdktf/provider-aws, in its .jsii file)
# Idempotent: a second run with everything in place does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

CFN_LINT=1.58.0
CHECKOV=3.3.30
HCL2=7.3.1
CFNGUARD_PKG=0.0.62
PROVIDER_AWS_PKG=21.22.1

venv=.venv/checkers
stamp="$venv/.pins-cfnlint-$CFN_LINT-checkov-$CHECKOV"
if [[ ! -f $stamp ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "cfn-lint==$CFN_LINT" "checkov==$CHECKOV"
  touch "$stamp"
fi

# python-hcl2 (for the provider-schema check) gets a venv of its own: checkov
# depends on a fork that installs the same `hcl2` module.
hvenv=.venv/hcl2
hstamp="$hvenv/.pins-$HCL2"
if [[ ! -f $hstamp ]]; then
  python3 -m venv "$hvenv"
  "$hvenv/bin/pip" install --quiet --disable-pip-version-check "python-hcl2==$HCL2"
  touch "$hstamp"
fi

node_dir=.tools/node
nstamp="$node_dir/.pins-$CFNGUARD_PKG-$PROVIDER_AWS_PKG"
if [[ ! -f $nstamp ]]; then
  mkdir -p "$node_dir"
  (cd "$node_dir" && [[ -f package.json ]] || echo '{"name":"pipegen-checkers","private":true}' > package.json)
  npm install --prefix "$node_dir" --no-audit --no-fund --silent \
    "@cdklabs/cdk-validator-cfnguard@$CFNGUARD_PKG" "@cdktf/provider-aws@$PROVIDER_AWS_PKG"
  touch "$nstamp"
fi
echo "checkers ready: $venv, $node_dir"
