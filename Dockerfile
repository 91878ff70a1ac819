# reckon's image for people with Docker: the same files as
# scripts/build-image (which needs no daemon and is what CI checks): the
# static release binary, its SBOM, CA certificates, a non-root user, /tmp
# and a home, on scratch.
#
#   docker build -t reckon \
#     --build-arg VERSION=$(git describe --tags --always) --build-arg REVISION=$(git rev-parse HEAD) .
#   docker run --rm reckon demo
#
# The build stage keeps .git (see .dockerignore): the go command stamps
# the version, commit and commit time from it.
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN scripts/build-release dist/reckon && \
    go run ./cmd/build-image --binary dist/reckon --ca-certs /etc/ssl/certs/ca-certificates.crt --rootfs /rootfs

FROM scratch
COPY --from=build /rootfs/ /
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="reckon" \
      org.opencontainers.image.description="reckon: data to monitored batch predictions, one static binary" \
      org.opencontainers.image.source="https://github.com/reckon-ml/reckon" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
ENV PATH=/usr/local/bin:/usr/bin:/bin HOME=/home/reckon SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
WORKDIR /home/reckon
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/reckon"]
CMD ["--help"]
