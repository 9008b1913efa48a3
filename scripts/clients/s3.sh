#!/usr/bin/env bash
# Stratus's S3 API driven by the AWS CLI and boto3, unchanged, with EC2 credentials made
# through Identity (`openstack ec2 credentials create`): buckets, objects, listings,
# ranges, copies, presigned URLs and a 64 MiB multipart upload, then cleanup.
#
#   scripts/clients/s3.sh DATA_DIR
#
# DATA_DIR is the running server's --data-dir (its clouds.yaml names cloud `stratus`).
# The AWS CLI and boto3 come from the venv of scripts/requirements-s3.txt; `openstack`
# (on PATH, the e2e venv) makes and deletes the credential. Each check prints PASS/FAIL;
# the last line is `clients-s3: N passed, N failed`; exit status 1 if any failed.
set -uo pipefail

# shellcheck source=../lib/clients.sh
source "$(dirname "$0")/../lib/clients.sh"
clients_init clients-s3 "${1:?usage: s3.sh DATA_DIR}" requirements-s3.txt
# shellcheck source=../lib/e2e.sh
source "$HERE/../lib/e2e.sh"
finish() {
  echo "clients-s3: $PASSED passed, $FAILED failed"
  (( FAILED == 0 ))
}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/stratus-s3.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

check -m '^http' "the s3 endpoint in the catalog" os endpoint list --service s3 --interface public -f value -c URL
ENDPOINT=$(head -1 <<<"$OUT")
check -m '^access=' "ec2 credentials create" os ec2 credentials create -f shell
export AWS_ACCESS_KEY_ID=$(val access) AWS_SECRET_ACCESS_KEY=$(val secret) AWS_DEFAULT_REGION=RegionOne
export ENDPOINT BUCKET=s3-$S
aws() { "$VENV/bin/aws" --endpoint-url "$ENDPOINT" "$@"; }

check -m "make_bucket: $BUCKET" "aws s3 mb" aws s3 mb "s3://$BUCKET"
check -m " $BUCKET\$" "aws s3 ls lists the bucket" aws s3 ls
check -m 'BucketAlreadyOwnedByYou' -x "a second mb of the bucket is refused" aws s3 mb "s3://$BUCKET"
printf 'hello s3\n' >"$WORK/hello.txt"
check "aws s3 cp (upload)" aws s3 cp "$WORK/hello.txt" "s3://$BUCKET/docs/hello.txt"
head -c 67108864 /dev/urandom >"$WORK/big.bin"
MD5=$(md5sum "$WORK/big.bin" | cut -d' ' -f1)
check "aws s3 cp of 64 MiB (multipart)" aws s3 cp --only-show-errors "$WORK/big.bin" "s3://$BUCKET/big.bin"
check -m '"ETag": "\\"[0-9a-f]{32}-8\\""' -m '"ContentLength": 67108864' "head-object: a multipart ETag of 8 parts" \
  aws s3api head-object --bucket "$BUCKET" --key big.bin
check "aws s3 cp (download)" aws s3 cp --only-show-errors "s3://$BUCKET/big.bin" "$WORK/big.out"
check -m "^$MD5 " "the download is the upload" md5sum "$WORK/big.out"
rm -f "$WORK/big.out"
check -m 'PRE docs/' -m '67108864 big.bin' "aws s3 ls of the bucket" aws s3 ls "s3://$BUCKET/"
check -m 'docs/hello.txt' "aws s3 ls --recursive" aws s3 ls --recursive "s3://$BUCKET/"
check -m '^hello s3$' "aws s3 cp to stdout" aws s3 cp "s3://$BUCKET/docs/hello.txt" -
check -m 'copy:' "aws s3 cp within the bucket (CopyObject)" aws s3 cp "s3://$BUCKET/docs/hello.txt" "s3://$BUCKET/copy.txt"
check -m 'NoSuchKey|Not Found|404' -x "a missing key is 404" aws s3api head-object --bucket "$BUCKET" --key missing
check -m 'presigned|X-Amz-Signature' "aws s3 presign" aws s3 presign "s3://$BUCKET/docs/hello.txt" --expires-in 300
check -m '^hello s3$' "GET through the presigned URL" curl -sf "$(grep X-Amz-Signature <<<"$OUT" | tail -1)"

check -m 'boto3: ok' "boto3: objects, metadata, ranges, listings v1 and v2, multipart, batch delete" \
  "$VENV/bin/python" - <<'PY'
import os, boto3, botocore
s3 = boto3.client("s3", endpoint_url=os.environ["ENDPOINT"])
b = os.environ["BUCKET"]
s3.put_object(Bucket=b, Key="meta.txt", Body=b"0123456789", ContentType="text/x-digits",
              Metadata={"color": "blue"})
head = s3.head_object(Bucket=b, Key="meta.txt")
assert head["Metadata"] == {"color": "blue"} and head["ContentType"] == "text/x-digits", head
assert s3.get_object(Bucket=b, Key="meta.txt", Range="bytes=2-4")["Body"].read() == b"234"
try:
    s3.get_object(Bucket=b, Key="meta.txt", IfNoneMatch=head["ETag"])
    raise SystemExit("If-None-Match did not give 304")
except botocore.exceptions.ClientError as e:
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 304, e.response
for i in range(5):
    s3.put_object(Bucket=b, Key=f"many/{i}", Body=b"x")
v2 = s3.list_objects_v2(Bucket=b, Prefix="many/", MaxKeys=2)
assert v2["IsTruncated"] and v2["KeyCount"] == 2, v2
rest = s3.list_objects_v2(Bucket=b, Prefix="many/", ContinuationToken=v2["NextContinuationToken"])
assert [o["Key"] for o in rest["Contents"]] == ["many/2", "many/3", "many/4"], rest
v1 = s3.list_objects(Bucket=b, Delimiter="/")
assert {p["Prefix"] for p in v1["CommonPrefixes"]} == {"docs/", "many/"}, v1
up = s3.create_multipart_upload(Bucket=b, Key="parts.bin", Metadata={"kind": "mp"})
parts = []
for n, data in enumerate([b"a" * (5 << 20), b"b" * 100], start=1):
    r = s3.upload_part(Bucket=b, Key="parts.bin", UploadId=up["UploadId"], PartNumber=n, Body=data)
    parts.append({"PartNumber": n, "ETag": r["ETag"]})
listed = s3.list_parts(Bucket=b, Key="parts.bin", UploadId=up["UploadId"])
assert [p["PartNumber"] for p in listed["Parts"]] == [1, 2], listed
s3.complete_multipart_upload(Bucket=b, Key="parts.bin", UploadId=up["UploadId"],
                             MultipartUpload={"Parts": parts})
got = s3.get_object(Bucket=b, Key="parts.bin")
assert got["ContentLength"] == (5 << 20) + 100 and got["Metadata"] == {"kind": "mp"}, got
aborted = s3.create_multipart_upload(Bucket=b, Key="gone.bin")
s3.abort_multipart_upload(Bucket=b, Key="gone.bin", UploadId=aborted["UploadId"])
assert not s3.list_multipart_uploads(Bucket=b).get("Uploads"), "an aborted upload is listed"
keys = [{"Key": f"many/{i}"} for i in range(5)]
deleted = s3.delete_objects(Bucket=b, Delete={"Objects": keys})
assert len(deleted["Deleted"]) == 5, deleted
print("boto3: ok")
PY

check "aws s3 rm --recursive" aws s3 rm --recursive --only-show-errors "s3://$BUCKET/"
check -m "remove_bucket: $BUCKET" "aws s3 rb" aws s3 rb "s3://$BUCKET"
check -n " $BUCKET\$" "the bucket is gone" aws s3 ls
check "ec2 credentials delete" os ec2 credentials delete "$AWS_ACCESS_KEY_ID"
check -m 'InvalidAccessKeyId' -x "a deleted credential signs nothing" aws s3 ls
finish
