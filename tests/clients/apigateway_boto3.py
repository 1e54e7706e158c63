"""boto3's API Gateway client against a running Portico: keys, usage plans and usage.

Usage: python3 apigateway_boto3.py URL DATE   (DATE: the stack clock's UTC day, YYYY-MM-DD)
Exits non-zero with a message on the first mismatch.
"""
import datetime
import sys
import urllib.error
import urllib.request

import boto3

url, date = sys.argv[1], sys.argv[2]
client = boto3.client(
    "apigateway",
    endpoint_url=url,
    region_name="us-east-1",
    aws_access_key_id="x",
    aws_secret_access_key="x",
)
VALUE = "boto-key-0123456789abcdef"


def gateway(path, key=None):
    req = urllib.request.Request(url + path, headers={"x-api-key": key} if key else {})
    try:
        with urllib.request.urlopen(req) as res:
            return res.status
    except urllib.error.HTTPError as e:
        return e.code


key = client.create_api_key(name="boto", description="from boto3", enabled=True, value=VALUE)
assert key["ResponseMetadata"]["HTTPStatusCode"] == 201, key
assert key["name"] == "boto" and key["enabled"] and key["value"] == VALUE, key
assert isinstance(key["createdDate"], datetime.datetime), key
key_id = key["id"]

plans = client.get_usage_plans()["items"]
assert [p["id"] for p in plans] == ["basic"], plans
assert plans[0]["quota"] == {"limit": 5, "offset": 0, "period": "DAY"}, plans
assert plans[0]["throttle"] == {"burstLimit": 100, "rateLimit": 50.0}, plans

assert gateway("/prod/pets", VALUE) == 403, "a key outside any plan must be refused"
joined = client.create_usage_plan_key(usagePlanId="basic", keyId=key_id, keyType="API_KEY")
assert joined["id"] == key_id and joined["type"] == "API_KEY", joined
statuses = [gateway("/prod/pets", VALUE) for _ in range(7)]
assert statuses == [200] * 5 + [429] * 2, statuses

usage = client.get_usage(usagePlanId="basic", keyId=key_id, startDate=date, endDate=date)
assert usage["usagePlanId"] == "basic", usage
assert usage["items"] == {key_id: [[5, 0]]}, usage

listed = client.get_api_keys(includeValues=True, nameQuery="bo")["items"]
assert [k.get("value") for k in listed] == [VALUE], listed
assert [p["id"] for p in client.get_usage_plans(keyId=key_id)["items"]] == ["basic"]
one = client.get_api_key(apiKey=key_id, includeValue=True)
assert one["value"] == VALUE and one["description"] == "from boto3", one

try:
    client.get_api_key(apiKey="nope")
    raise AssertionError("unknown key id accepted")
except client.exceptions.NotFoundException as e:
    assert "Invalid API Key identifier" in str(e), e
try:
    client.get_usage(usagePlanId="basic", startDate="yesterday", endDate=date)
    raise AssertionError("bad date accepted")
except client.exceptions.BadRequestException as e:
    assert "startDate" in str(e), e

client.update_api_key(
    apiKey=key_id, patchOperations=[{"op": "replace", "path": "/enabled", "value": "false"}]
)
assert client.get_api_key(apiKey=key_id)["enabled"] is False
assert gateway("/prod/pets", VALUE) == 403, "a disabled key must be refused"
print("boto3 apigateway: ok")
