"""Drives a running Portico stack with boto3 and the AWS CLI, as users do.

Usage: python3 aws_sdk_clients.py http://127.0.0.1:PORT
Prints one line per check and exits non-zero on the first failure.
"""
import base64
import json
import os
import subprocess
import sys

import boto3
import botocore.exceptions

URL = sys.argv[1]
os.environ.update(AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION="us-east-1",
                  AWS_DISABLE_HOST_PREFIX_INJECTION="true")


def check(name, ok):
    print(("ok   " if ok else "FAIL ") + name)
    if not ok:
        sys.exit(1)


lam = boto3.client("lambda", endpoint_url=URL)
r = lam.invoke(FunctionName="echo", Payload=json.dumps({"hello": "world"}), LogType="Tail")
body = json.loads(r["Payload"].read())
check("boto3 lambda invoke returns the payload", r["StatusCode"] == 200 and json.loads(body["body"]) == {"hello": "world"})
check("boto3 lambda invoke executed version", r["ExecutedVersion"] == "$LATEST")
check("boto3 lambda log tail", "START RequestId" in base64.b64decode(r["LogResult"]).decode())
r = lam.invoke(FunctionName="echo", InvocationType="Event", Payload=b"{}")
check("boto3 lambda event invoke is 202", r["StatusCode"] == 202)
r = lam.invoke(FunctionName="hello", Payload=b'{"not": "an event"}')
check("boto3 sees FunctionError", r.get("FunctionError") == "Unhandled")
try:
    lam.invoke(FunctionName="nope", Payload=b"{}")
    check("boto3 raises ResourceNotFoundException", False)
except lam.exceptions.ResourceNotFoundException:
    check("boto3 raises ResourceNotFoundException", True)

sfn = boto3.client("stepfunctions", endpoint_url=URL)
definition = json.dumps({"StartAt": "Greet", "States": {"Greet": {"Type": "Pass", "Parameters": {"greeting.$": "States.Format('hi {}', $.name)"}, "End": True}}})
sm = sfn.create_state_machine(name="greeter", definition=definition, roleArn="arn:aws:iam::123456789012:role/x", type="EXPRESS")
check("boto3 create_state_machine", sm["stateMachineArn"].endswith(":stateMachine:greeter"))
out = sfn.start_sync_execution(stateMachineArn=sm["stateMachineArn"], input=json.dumps({"name": "ada"}))
check("boto3 start_sync_execution", out["status"] == "SUCCEEDED" and json.loads(out["output"]) == {"greeting": "hi ada"})
machines = sfn.list_state_machines()["stateMachines"]
check("boto3 list_state_machines", any(m["name"] == "greeter" for m in machines))
try:
    sfn.describe_state_machine(stateMachineArn="arn:aws:states:us-east-1:123456789012:stateMachine:missing")
    check("boto3 raises StateMachineDoesNotExist", False)
except sfn.exceptions.StateMachineDoesNotExist:
    check("boto3 raises StateMachineDoesNotExist", True)

cli = ["aws", "--endpoint-url", URL, "--output", "json"]
try:
    subprocess.run(["aws", "--version"], capture_output=True, check=True)
    have_cli = True
except (OSError, subprocess.CalledProcessError):
    have_cli = False
if have_cli:
    out_file = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"portico-cli-out-{os.getpid()}.json")
    res = subprocess.run(cli + ["lambda", "invoke", "--function-name", "echo", "--payload", '{"a": 1}', out_file],
                         capture_output=True, text=True)
    check("aws lambda invoke exits 0", res.returncode == 0)
    with open(out_file) as f:
        check("aws lambda invoke writes the result", json.loads(json.load(f)["body"]) == {"a": 1})
    res = subprocess.run(cli + ["stepfunctions", "list-state-machines"], capture_output=True, text=True)
    check("aws stepfunctions list-state-machines", res.returncode == 0 and "greeter" in res.stdout)
else:
    print("skip aws CLI checks: `aws` is not installed")
print("all checks passed")
