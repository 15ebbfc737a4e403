# syntax=docker/dockerfile:1
# Build: a static, pure-Go binary (SQLite is modernc.org/sqlite, no cgo),
# with the Go version go.mod names (a test in cmd/carewallet checks they agree).
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/carewallet ./cmd/carewallet \
 && mkdir -p /out/data

# Run: distroless, non-root (uid 65532), data in the /data volume.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/carewallet /usr/local/bin/carewallet
COPY --from=build --chown=65532:65532 /out/data /data
ENV CAREWALLET_ADDR=:8080 \
    CAREWALLET_DATA=/data
VOLUME ["/data"]
EXPOSE 8080
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/carewallet"]
CMD ["serve"]
