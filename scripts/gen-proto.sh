#!/usr/bin/env bash
# Regenerates core/pluginapi/proto/*.pb.go from framework.proto.
# Pinned generator versions, so the committed output is reproducible:
# protoc from Debian's protobuf-compiler (3.21), protoc-gen-go v1.36.12,
# protoc-gen-go-grpc v1.6.2.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v protoc >/dev/null; then
	apt-get update -qq && apt-get install -y -qq protobuf-compiler
fi
GOBIN="$(go env GOPATH)/bin"
export PATH="$GOBIN:$PATH"
go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
protoc --proto_path=core/pluginapi/proto \
	--go_out=core/pluginapi/proto --go_opt=paths=source_relative \
	--go-grpc_out=core/pluginapi/proto --go-grpc_opt=paths=source_relative \
	framework.proto
